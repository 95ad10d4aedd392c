import Convergent
import Foundation
import Testing
import TwinStorage
import TwinStorageConformance

/// `StoreAudit` over SQLite and a blob folder: each kind of damage found, reported and repaired.
@Suite("Store audit")
struct StoreAuditTests {
    /// A data folder with one entry over three chunks, whose blobs are real ciphertext-like bytes.
    static func populated(_ root: String) async throws -> (SQLiteMetadataStore, BlobStore, [[UInt8]]) {
        let store = try await SQLiteMetadataStore.open(path: root + "/metadata.sqlite")
        let blobs = BlobStore(try FileSystemBlobBackend(root: root + "/blobs"))
        let contents = (0..<3).map { index in (0..<(5000 + index)).map { UInt8(truncatingIfNeeded: $0 &* (index + 3)) } }
        let chunks = contents.map { ChunkReference(tag: MerkleTree.root(of: $0), size: $0.count) }
        for (chunk, bytes) in zip(chunks, contents) {
            try await blobs.put(chunk.tag, bytes)
            try await store.record(chunk)
        }
        try await store.createUser(Fixture.user("alice"))
        let file = FileRecord(tag: Fixture.tag(77), sealedManifest: [1, 2, 3], chunks: chunks)
        try await store.upload(Fixture.entry(owner: "alice", name: "a", file: file), file: file)
        return (store, blobs, contents)
    }

    @Test("a sound store is clean; orphans, corrupt and missing blobs are found, and repair leaves them for re-upload")
    func findsAndRepairs() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (store, blobs, contents) = try await Self.populated(directory.path)
        var report = try await StoreAudit.run(store: store, blobs: blobs, repair: false)
        #expect(report.isClean && report.chunks == 3 && report.blobs == 3 && report.entries == 1)

        let tags = contents.map { MerkleTree.root(of: $0) }
        let orphan: [UInt8] = Array("left behind by a kill -9".utf8)
        try await blobs.put(MerkleTree.root(of: orphan), orphan)
        try await blobs.delete(tags[0])
        let corruptPath = directory.path + "/blobs/" + tags[1].hex.prefix(2) + "/" + tags[1].hex
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: corruptPath)))
        bytes[10] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: corruptPath))

        report = try await StoreAudit.run(store: store, blobs: blobs, repair: false)
        #expect(!report.isClean)
        #expect(report.missing == [tags[0].hex] && report.corrupt == [tags[1].hex])
        #expect(report.orphans == [MerkleTree.root(of: orphan).hex] && report.repaired == 0)
        #expect(try await store.lostChunks().isEmpty, "a check alone changes nothing")

        report = try await StoreAudit.run(store: store, blobs: blobs, repair: true)
        #expect(report.repaired == 3)
        #expect(try await store.lostChunks() == [tags[0], tags[1]].sorted())
        #expect(try await blobs.allTags() == [tags[2]], "the orphan is gone, the corrupt blob moved aside")
        #expect(try await store.storedChunks(tags) == [tags[2]: contents[2].count], "lost chunks are asked for again")

        // The next upload of that content restores them, and the store is clean again.
        for index in 0..<2 {
            try await blobs.put(tags[index], contents[index])
            try await store.record(ChunkReference(tag: tags[index], size: contents[index].count))
        }
        report = try await StoreAudit.run(store: store, blobs: blobs, repair: false)
        #expect(report.isClean && report.blobs == 3)
        #expect(try await store.integrityCheck() == ["ok"])
        try await store.close()
    }
}
