import Convergent
import Foundation
import Synchronization
import Testing
@testable import TwinClient
import TwinProtocol
@testable import TwinServer
import TwinStorage

/// Faults the server must outlive without losing data: corrupt storage, and garbage collection
/// racing a steady stream of uploads.
@Suite("Faults")
struct FaultTests {
    @Test("a replacement refused at its commit leaves the old entry; one that commits swaps it whole")
    func replacementIsAtomic() async throws {
        let small = jpegImage(seed: "replace-old", exif: "x", scanBytes: 200_000)
        let large = jpegImage(seed: "replace-large", exif: "x", scanBytes: 400_000)
        let other = jpegImage(seed: "replace-new", exif: "x", scanBytes: 250_000)
        try await LiveServer.run(configure: { $0.limits.quotaBytes = small.count * 3 / 2 }) { server in
            let alice = try await server.user("alice")
            _ = try await alice.upload(path: try server.file("a.jpg", small), name: "a.jpg", attributes: [])
            let old = try #require(try await alice.entries().first).fileTag
            func replace(with path: String) async throws -> [TwinSession.UploadResult] {
                var results: [TwinSession.UploadResult] = []
                try await alice.upload([.init(path: path, name: "a.jpg")], attributes: [], width: 1,
                                       existing: ["a.jpg": old], replace: true) { results.append($0) }
                return results
            }
            // Past the quota even without the old entry: refused at the commit, and the old entry,
            // which a delete before the upload would have lost, is still there and still reads.
            await expectCode("quota_exceeded") { _ = try await replace(with: try server.file("large.jpg", large)) }
            #expect(try await alice.entries().map(\.fileTag) == [old])
            let out = server.directory.appendingPathComponent("a-out.jpg").path
            _ = try await alice.get(owner: nil, name: "a.jpg", destination: out)
            #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == Data(small))

            // Within the quota once the old entry's charge goes: replaced in one commit.
            let results = try await replace(with: try server.file("new.jpg", other))
            #expect(results.map(\.outcome) == [.replaced])
            let entries = try await alice.entries()
            #expect(entries.count == 1 && entries[0].name == "a.jpg" && entries[0].fileTag != old)
            _ = try await alice.get(owner: nil, name: "a.jpg", destination: out + "2")
            #expect(try Data(contentsOf: URL(fileURLWithPath: out + "2")) == Data(other))
            // A stale expectation (the entry no longer names `old`) is refused, changing nothing.
            let fourth = jpegImage(seed: "replace-fourth", exif: "x", scanBytes: 220_000)
            await expectCode("conflict") { _ = try await replace(with: try server.file("fourth.jpg", fourth)) }
            #expect(try await alice.entries().map(\.fileTag) == entries.map(\.fileTag))
        }
    }

    @Test("a corrupt blob is quarantined on read, and the next upload of that content repairs it")
    func corruptBlobIsRepairedByUpload() async throws {
        try await LiveServer.run { server in
            let alice = try await server.user("alice"), bob = try await server.user("bob")
            let bytes = jpegImage(seed: "repair", exif: "x", scanBytes: 400_000)
            let path = try server.file("r.jpg", bytes)
            _ = try await alice.upload(path: path, name: "r.jpg", attributes: [])
            // Flip a byte of the largest blob, behind the server's back.
            var largest: (tag: Convergent.Tag, size: Int)?
            for tag in try await server.blobs.allTags() {
                let size = try await server.blobs.get(tag)!.count
                if size > largest?.size ?? 0 { largest = (tag, size) }
            }
            let hex = try #require(largest).tag.hex
            try await server.corruptBlob(largest!.tag)

            let out = server.directory.appendingPathComponent("r-out.jpg").path
            await #expect(throws: TwinClientError.self) { _ = try await alice.get(owner: nil, name: "r.jpg", destination: out) }
            #expect(try await server.store.lostChunks() == [largest!.tag])
            // Bob holds the same photo: his upload is asked for the lost chunk, and sends it.
            let result = try await bob.upload(path: path, name: "r.jpg", attributes: [])
            #expect(result.sentBytes >= largest!.size)
            #expect(try await server.store.lostChunks().isEmpty)
            #expect(try await server.download(alice, "r.jpg") == bytes)
            // The corrupt copy was kept aside for inspection (the folder backend keeps it in view).
            if server.storage == .sqliteAndFolder {
                let quarantined = try FileManager.default.contentsOfDirectory(atPath: server.directory.appendingPathComponent("blobs/quarantine").path)
                #expect(quarantined.count == 1 && quarantined[0].hasPrefix(hex))
            }
        }
    }

    @Test("garbage collection keeps running under steady uploads and never breaks one")
    func collectionUnderSteadyUploads() async throws {
        try await LiveServer.run { server in
            let users = [try await server.user("u0"), try await server.user("u1"), try await server.user("u2")]
            let collector = GarbageCollector(store: server.store, blobs: server.blobs, gracePeriod: 0, interval: .seconds(60),
                                             logger: .init(label: "test"))
            let images = (0..<6).map { jpegImage(seed: "steady-\($0)", exif: "e\($0)", scanBytes: 150_000) }
            let paths = try images.enumerated().map { try server.file("s\($0.offset).jpg", $0.element) }
            let done = Mutex(false)
            let uploading = Task {
                defer { done.withLock { $0 = true } }
                // Each user uploads and deletes the images in turn: chunks keep becoming garbage
                // and being uploaded again while the collector runs.
                for round in 0..<4 {
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for (index, user) in users.enumerated() {
                            group.addTask {
                                let image = (round + index) % images.count
                                _ = try await user.upload(path: paths[image], name: "r\(round).jpg", attributes: [])
                                if round % 2 == 1 { try await user.delete(name: "r\(round - 1).jpg") }
                            }
                        }
                        try await group.waitForAll()
                    }
                }
            }
            var freed = 0
            var passes = 0
            while !done.withLock({ $0 }) || passes == 0 {
                freed += try await collector.collect(now: Date().addingTimeInterval(1))
                passes += 1
                try await Task.sleep(for: .milliseconds(5))
            }
            try await uploading.value
            #expect(passes > 3, "collection ran while uploads were in flight")
            #expect(freed > 0, "and found garbage to free")
            // Every entry reads back whole, and every recorded chunk has its blob.
            for (index, user) in users.enumerated() {
                for entry in try await user.entries() {
                    #expect(images.contains(try await server.download(user, entry.name)), "user \(index)")
                }
            }
            let chunks = try await server.store.allChunks().map(\.tag)
            let blobs = Set(try await server.blobs.allTags())
            #expect(chunks.allSatisfy(blobs.contains))
        }
    }
}
