import Convergent
import Foundation
import Testing
@testable import TwinStorage

/// Every `BlobStore` implementation, each on fresh, empty storage.
enum BlobStoreKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case fileSystem
    case memory

    var testDescription: String { rawValue }

    /// A store with a way to damage a stored blob behind its back, and a cleanup.
    struct Harness {
        var store: any BlobStore
        var tamper: (Tag) async throws -> Void
        var cleanup: () -> Void
    }

    func makeHarness() throws -> Harness {
        switch self {
        case .fileSystem:
            let directory = try TemporaryDirectory()
            let store = try FileSystemBlobStore(root: directory.path)
            return Harness(store: store, tamper: { tag in
                try flipFirstByte(of: FileSystemBlobStoreTests.expectedPath(of: tag, root: directory.path))
            }, cleanup: directory.remove)
        case .memory:
            let store = MemoryBlobStore()
            return Harness(store: store, tamper: { tag in await store.tamper(tag) { $0[0] ^= 0x01 } }, cleanup: {})
        }
    }
}

func flipFirstByte(of path: String) throws {
    let handle = try #require(FileHandle(forUpdatingAtPath: path))
    defer { try? handle.close() }
    let first = try #require(try handle.read(upToCount: 1))
    try handle.seek(toOffset: 0)
    try handle.write(contentsOf: [first[first.startIndex] ^ 0x01])
}

/// Random bytes and their tag, as a chunk ciphertext would be.
func blob(size: Int) -> (tag: Tag, bytes: [UInt8]) {
    var generator = SystemRandomNumberGenerator()
    let bytes = (0..<size).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    return (MerkleTree.root(of: bytes), bytes)
}

@Suite("BlobStore conformance")
struct BlobStoreConformance {
    private func withHarness(_ kind: BlobStoreKind, _ body: (BlobStoreKind.Harness) async throws -> Void) async throws {
        let harness = try kind.makeHarness()
        defer { harness.cleanup() }
        try await body(harness)
    }

    @Test("put, get, contains, delete, allTags", arguments: BlobStoreKind.allCases)
    func roundTrip(_ kind: BlobStoreKind) async throws {
        try await withHarness(kind) { harness in
            let store = harness.store
            let small = blob(size: 100), large = blob(size: 3 * MerkleTree.leafSize + 17), empty = blob(size: 0)
            #expect(try await store.allTags() == [])
            #expect(try await store.get(small.tag) == nil)
            #expect(try await !store.contains(small.tag))

            for item in [small, large, empty] { try await store.put(item.tag, item.bytes) }
            #expect(try await store.get(small.tag) == small.bytes)
            #expect(try await store.get(large.tag) == large.bytes)
            #expect(try await store.get(empty.tag) == [])
            #expect(try await store.contains(large.tag))
            #expect(Set(try await store.allTags()) == [small.tag, large.tag, empty.tag])
            #expect(try await store.allTags().count == 3)

            try await store.delete(small.tag)
            try await store.delete(small.tag)  // absent: not an error
            #expect(try await store.get(small.tag) == nil)
            #expect(try await !store.contains(small.tag))
            #expect(Set(try await store.allTags()) == [large.tag, empty.tag])

            try await store.put(small.tag, small.bytes)
            #expect(try await store.get(small.tag) == small.bytes, "a deleted tag can be stored again")
        }
    }

    @Test("put of a stored tag is a no-op", arguments: BlobStoreKind.allCases)
    func idempotentPut(_ kind: BlobStoreKind) async throws {
        try await withHarness(kind) { harness in
            let item = blob(size: 5000)
            try await harness.store.put(item.tag, item.bytes)
            try await harness.store.put(item.tag, item.bytes)
            // Content addressing: the first bytes under a tag stay, whatever a later put carries.
            try await harness.store.put(item.tag, [1, 2, 3])
            #expect(try await harness.store.get(item.tag) == item.bytes)
            #expect(try await harness.store.allTags() == [item.tag])
        }
    }

    @Test("putAll stores a batch: repeated tags, stored tags and an empty blob among them", arguments: BlobStoreKind.allCases)
    func batchPut(_ kind: BlobStoreKind) async throws {
        try await withHarness(kind) { harness in
            let store = harness.store
            let earlier = blob(size: 900)
            try await store.put(earlier.tag, earlier.bytes)
            let batch = (0..<40).map { index in blob(size: index == 0 ? 0 : 50 * index + 1) }
            try await store.putAll([])
            // The stored tag carries other bytes: content addressing keeps the first ones.
            try await store.putAll(batch + [batch[3], (earlier.tag, [9, 9])] + batch.prefix(2))
            for item in batch + [earlier] { #expect(try await store.get(item.tag) == item.bytes) }
            #expect(Set(try await store.allTags()) == Set((batch + [earlier]).map(\.tag)))
            #expect(try await store.allTags().count == 41)
            try await store.putAll(batch)
            #expect(try await store.allTags().count == 41, "a batch of stored tags is a no-op")
        }
    }

    @Test("concurrent batches sharing tags leave one intact blob each", arguments: BlobStoreKind.allCases)
    func concurrentBatches(_ kind: BlobStoreKind) async throws {
        try await withHarness(kind) { harness in
            let store = harness.store
            let shared = (0..<6).map { _ in blob(size: 20_000) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for round in 0..<8 {
                    group.addTask { try await store.putAll(round % 2 == 0 ? shared : shared.reversed()) }
                }
                try await group.waitForAll()
            }
            for item in shared { #expect(try await store.get(item.tag) == item.bytes) }
            #expect(try await store.allTags().count == 6)
        }
    }

    @Test("bytes that no longer hash to their tag are reported corrupt", arguments: BlobStoreKind.allCases)
    func corruption(_ kind: BlobStoreKind) async throws {
        try await withHarness(kind) { harness in
            let damaged = blob(size: 2 * MerkleTree.leafSize), intact = blob(size: 300)
            try await harness.store.put(damaged.tag, damaged.bytes)
            try await harness.store.put(intact.tag, intact.bytes)
            try await harness.tamper(damaged.tag)
            await #expect(throws: BlobStoreError.corrupt(damaged.tag)) { try await harness.store.get(damaged.tag) }
            #expect(try await harness.store.get(intact.tag) == intact.bytes)
            // A corrupt blob can be removed and stored again from a good copy.
            try await harness.store.delete(damaged.tag)
            try await harness.store.put(damaged.tag, damaged.bytes)
            #expect(try await harness.store.get(damaged.tag) == damaged.bytes)
        }
    }

    @Test("concurrent puts of one tag leave one intact blob", arguments: BlobStoreKind.allCases)
    func concurrentPuts(_ kind: BlobStoreKind) async throws {
        try await withHarness(kind) { harness in
            let store = harness.store
            let item = blob(size: 64 * 1024)
            let others = (0..<8).map { _ in blob(size: 1000) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<16 { group.addTask { try await store.put(item.tag, item.bytes) } }
                for other in others { group.addTask { try await store.put(other.tag, other.bytes) } }
                try await group.waitForAll()
            }
            #expect(try await store.get(item.tag) == item.bytes)
            #expect(Set(try await store.allTags()) == Set([item.tag] + others.map(\.tag)))
            #expect(try await store.allTags().count == 9)
        }
    }
}

@Suite("FileSystemBlobStore")
struct FileSystemBlobStoreTests {
    static func expectedPath(of tag: Tag, root: String) -> String {
        let hex = tag.hex
        return "\(root)/\(hex.prefix(2))/\(hex)"
    }

    @Test("blobs live at ROOT/ab/<hex> and writes leave no temporary files")
    func layout() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try FileSystemBlobStore(root: directory.path + "/")
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
        let store = try FileSystemBlobStore(root: directory.path)
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
            #expect((error.underlying as? FileSystemBlobStoreError)?.operation == .rename)
        }
        #expect(try await store.get(first.tag) == first.bytes)
        #expect(try await store.get(last.tag) == nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path + "/tmp") == [])
        // A single put reports the store's own error, not the batch's.
        await #expect(throws: FileSystemBlobStoreError.self) { try await store.put(blocked.tag, blocked.bytes) }
    }

    @Test("allTags skips files that are not blobs")
    func foreignFiles() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try FileSystemBlobStore(root: directory.path)
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
        _ = try FileSystemBlobStore(root: directory.path)
        let stale = directory.path + "/tmp/stale", fresh = directory.path + "/tmp/fresh"
        #expect(FileManager.default.createFile(atPath: stale, contents: Data([1])))
        #expect(FileManager.default.createFile(atPath: fresh, contents: Data([1])))
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-7200)], ofItemAtPath: stale)
        _ = try FileSystemBlobStore(root: directory.path)
        #expect(!FileManager.default.fileExists(atPath: stale))
        #expect(FileManager.default.fileExists(atPath: fresh), "a write in progress in another process")
    }

    @Test("an unusable root is a typed error")
    func unusableRoot() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = directory.path + "/file"
        #expect(FileManager.default.createFile(atPath: file, contents: Data([1])))
        #expect(throws: FileSystemBlobStoreError.self) { try FileSystemBlobStore(root: file + "/store") }
    }
}
