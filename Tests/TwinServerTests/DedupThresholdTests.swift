import Convergent
import Crypto
import Foundation
import Testing
@testable import TwinClient
import TwinProtocol
@testable import TwinServer
import TwinStorage

/// `--dedup-threshold random:MAX` (issue 21): below a chunk's secret threshold, an upload of stored
/// content is answered exactly as one of new content, and totals are too coarse to tell.
@Suite("Dedup threshold")
struct DedupThresholdTests {
    /// What a begin answer shows, with the session's own identifiers left out.
    struct Shape: Equatable {
        var missing: Int
        var fileExists: [Bool]
        var challenged: Bool
    }

    static func shape(_ begin: BeginUploadResponse) -> Shape {
        Shape(missing: begin.missing.count, fileExists: begin.fileExists, challenged: begin.challenge != nil)
    }

    static func announce(_ session: TwinSession, _ prepared: TwinSession.PreparedUpload,
                         sizes: (ChunkReference) -> Int = { $0.size }) async throws -> BeginUploadResponse {
        let chunks = prepared.chunks.map { ChunkReference(tag: $0.tag, size: $0.count) }
        let begin = try await session.api.beginUpload(BeginUploadRequest(
            fileTag: prepared.encoded.fileTag, chunks: chunks.map { ChunkReference(tag: $0.tag, size: sizes($0)) }))
        return begin
    }

    @Test("a second uploader of a stored image gets the answer of a new image and sends everything, until the threshold")
    func noExistenceOracle() async throws {
        try await LiveServer.run(configure: { $0.dedupThreshold = 3 }) { server in
            let users = try await (0..<5).asyncMap { try await server.user("u\($0)") }
            let image = jpegImage(seed: "probe", exif: "GPS 51.5007N 0.1246W", scanBytes: 300_000)
            let unseen = jpegImage(seed: "unseen", exif: "GPS 51.5007N 0.1246W", scanBytes: 300_000)
            let path = try server.file("p.jpg", image), unseenPath = try server.file("u.jpg", unseen)
            _ = try await users[0].upload(path: path, name: "p.jpg", attributes: [])

            // u1 probes the stored image and an unseen one of the same shape: identical answers,
            // every chunk asked for, no challenge, no file reported; a wrong size draws no error.
            let stored = try await users[1].prepare(path: path, name: "p.jpg")
            let fresh = try await users[1].prepare(path: unseenPath, name: "u.jpg")
            #expect(stored.chunks.count == fresh.chunks.count)
            let probe = try await Self.announce(users[1], stored)
            #expect(Self.shape(probe) == Self.shape(try await Self.announce(users[1], fresh)))
            #expect(Self.shape(probe) == Shape(missing: Set(stored.chunkTags).count, fileExists: [false], challenged: false))
            #expect(Self.shape(try await Self.announce(users[1], stored, sizes: { $0.size + 1 })).missing == Set(stored.chunkTags).count)
            // Totals move in GiB and thousands only.
            let stats = try await users[1].stats()
            #expect(stats.storedBytes % (1 << 30) == 0 && stats.chunks % 1000 == 0)

            // Uploads below the threshold send every byte; the owner's own re-upload is not counted
            // as another user and dedups as before.
            let second = try await users[1].upload(path: path, name: "p.jpg", attributes: [])
            #expect(second.deduplicatedBytes == 0 && !second.fileExisted && second.sentBytes >= image.count)
            // Thresholds lie in [2, 3]: after three uploads every chunk deduplicates.
            _ = try await users[2].upload(path: path, name: "p.jpg", attributes: [])
            let fourth = try await users[3].upload(path: path, name: "p.jpg", attributes: [])
            #expect(fourth.deduplicatedBytes == image.count && fourth.fileExisted)
            let again = try await users[0].upload(path: path, name: "p-again.jpg", attributes: [])
            #expect(again.deduplicatedBytes == image.count)
            for user in users.prefix(4) { #expect(try await server.download(user, "p.jpg") == image) }
            // One copy of each chunk stored throughout.
            #expect(try await server.blobCount() == Set(stored.chunkTags).count + 0)
        }
    }

    @Test("thresholds are secret, per chunk, fixed, and within [2, MAX]")
    func thresholds() async throws {
        let store = MemoryMetadataStore()
        let secrets = ServerSecrets(store: store), other = ServerSecrets(store: MemoryMetadataStore())
        let tags = (0..<200).map { Digest32(SHA256.hash(data: [UInt8($0 & 0xff), UInt8($0 >> 8)])) }
        var seen = Set<Int>()
        var differ = 0
        for tag in tags {
            let threshold = try await secrets.dedupThreshold(for: tag, maximum: 6)
            #expect((2...6).contains(threshold))
            #expect(try await secrets.dedupThreshold(for: tag, maximum: 6) == threshold)
            if try await other.dedupThreshold(for: tag, maximum: 6) != threshold { differ += 1 }
            seen.insert(threshold)
        }
        #expect(seen == Set(2...6), "every value in range is drawn")
        #expect(differ > 100, "another store's secret draws other thresholds")
    }
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
