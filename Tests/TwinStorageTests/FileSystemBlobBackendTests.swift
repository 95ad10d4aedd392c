import Convergent
import Foundation
import Testing
@testable import TwinStorage
import TwinStorageConformance

/// Random bytes and their tag, as a chunk ciphertext would be.
func blob(size: Int) -> (tag: Tag, bytes: [UInt8]) { BlobBackendConformance.blob(size: size) }

@Suite("BlobBackend conformance")
struct BlobBackendConformanceTests {
    @Test("file system", arguments: BlobBackendConformance.allCases)
    func fileSystem(_ behaviour: BlobBackendConformance) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await behaviour.run({ try FileSystemBlobBackend(root: directory.path) }, dispose: { _ in })
    }

    @Test("memory", arguments: BlobBackendConformance.allCases)
    func memory(_ behaviour: BlobBackendConformance) async throws {
        try await behaviour.run({ MemoryBlobBackend() }, dispose: { _ in })
    }
}

@Suite("FileSystemBlobBackend")
struct FileSystemBlobBackendTests {
    static func expectedPath(of tag: Tag, root: String) -> String {
        let hex = tag.hex
        return "\(root)/\(hex.prefix(2))/\(hex)"
    }

    @Test("blobs live at ROOT/ab/<hex> and writes leave no temporary files")
    func layout() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = BlobStore(try FileSystemBlobBackend(root: directory.path + "/"))
        let items = (0..<5).map { _ in blob(size: 777) }
        for item in items { try await store.put(item.tag, item.bytes) }
        for item in items {
            let path = Self.expectedPath(of: item.tag, root: directory.path)
            #expect(FileManager.default.contents(atPath: path) == Data(item.bytes))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path + "/tmp") == [])
    }

    @Test("a batch that fails part way names what it stored and leaves no temporary files")
    func partialBatch() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = BlobStore(try FileSystemBlobBackend(root: directory.path))
        let first = blob(size: 3000)
        var blocked = blob(size: 3001)
        while blocked.tag.hex.prefix(2) == first.tag.hex.prefix(2) { blocked = blob(size: 3001) }
        var last = blob(size: 3002)
        while [first, blocked].contains(where: { $0.tag.hex.prefix(2) == last.tag.hex.prefix(2) }) { last = blob(size: 3002) }
        // A plain file where the second blob's fan-out directory belongs: its rename fails.
        let fanOut = "\(directory.path)/\(blocked.tag.hex.prefix(2))"
        #expect(FileManager.default.createFile(atPath: fanOut, contents: Data([1])))
        do {
            try await store.putAll([first, blocked, last])
            Issue.record("a batch whose rename fails must throw")
        } catch let error as BlobBatchWriteError {
            #expect(error.stored == [first.tag])
            #expect((error.underlying as? FileSystemBlobBackendError)?.operation == .rename)
        }
        #expect(try await store.get(first.tag) == first.bytes)
        #expect(try await store.get(last.tag) == nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path + "/tmp") == [])
        // A single put reports the store's own error, not the batch's.
        await #expect(throws: FileSystemBlobBackendError.self) { try await store.put(blocked.tag, blocked.bytes) }
    }

    @Test("allTags skips files that are not blobs")
    func foreignFiles() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = BlobStore(try FileSystemBlobBackend(root: directory.path))
        let item = blob(size: 10)
        try await store.put(item.tag, item.bytes)
        let hex = item.tag.hex
        let inner = "\(directory.path)/\(hex.prefix(2))"
        // A valid tag filed under another fan-out directory than its own.
        var misplaced = blob(size: 11).tag.hex
        while misplaced.hasPrefix(hex.prefix(2)) { misplaced = blob(size: 11).tag.hex }
        for path in ["\(directory.path)/README", "\(inner)/notes.txt", "\(inner)/\(misplaced)",
                     "\(inner)/\(hex.uppercased())", "\(directory.path)/tmp/\(hex).partial"] {
            #expect(FileManager.default.createFile(atPath: path, contents: Data([1])))
        }
        #expect(try await store.allTags() == [item.tag])
    }

    @Test("opening removes temporary files abandoned by a crashed writer, and only those")
    func abandonedTemporaryFiles() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        _ = try FileSystemBlobBackend(root: directory.path)
        let stale = directory.path + "/tmp/stale", fresh = directory.path + "/tmp/fresh"
        #expect(FileManager.default.createFile(atPath: stale, contents: Data([1])))
        #expect(FileManager.default.createFile(atPath: fresh, contents: Data([1])))
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-7200)], ofItemAtPath: stale)
        _ = try FileSystemBlobBackend(root: directory.path)
        #expect(!FileManager.default.fileExists(atPath: stale))
        #expect(FileManager.default.fileExists(atPath: fresh), "a write in progress in another process")
    }

    @Test("an unusable root is a typed error")
    func unusableRoot() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = directory.path + "/file"
        #expect(FileManager.default.createFile(atPath: file, contents: Data([1])))
        #expect(throws: FileSystemBlobBackendError.self) { try FileSystemBlobBackend(root: file + "/store") }
    }
}
