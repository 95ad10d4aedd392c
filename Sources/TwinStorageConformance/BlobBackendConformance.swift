import Convergent
import Foundation
import Testing
import TwinStorage

/// The behaviours every `BlobBackend` must show, through the `BlobStore` that verifies it: round
/// trips, replacement, batches, listing past a page, concurrency, and corruption caught above the
/// backend. An implementation's test runs each case on fresh, empty storage:
///
///     @Test(arguments: BlobBackendConformance.allCases)
///     func conformance(_ behaviour: BlobBackendConformance) async throws {
///         try await behaviour.run({ try MyBackend(...) }, dispose: { _ in })
///     }
public enum BlobBackendConformance: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case roundTrip
    case putReplaces
    case batchPut
    case listingPastOnePage
    case concurrentPutsOfOneTag
    case concurrentBatches
    case corruptionIsCaught
    case quarantine

    public var testDescription: String { rawValue }

    /// Runs the behaviour on a backend from `makeBackend`; `dispose` releases it, whether the
    /// behaviour passed or not.
    public func run<Backend: BlobBackend>(_ makeBackend: () async throws -> Backend,
                                          dispose: (Backend) async throws -> Void) async throws {
        try await withFresh(makeBackend, dispose: dispose) { try await body(BlobStore($0), $0) }
    }

    private func body(_ store: BlobStore, _ backend: any BlobBackend) async throws {
        switch self {
        case .roundTrip: try await Self.roundTrip(store)
        case .putReplaces: try await Self.putReplaces(store, backend)
        case .batchPut: try await Self.batchPut(store)
        case .listingPastOnePage: try await Self.listingPastOnePage(store)
        case .concurrentPutsOfOneTag: try await Self.concurrentPutsOfOneTag(store)
        case .concurrentBatches: try await Self.concurrentBatches(store)
        case .corruptionIsCaught: try await Self.corruptionIsCaught(store, backend)
        case .quarantine: try await Self.quarantine(store, backend)
        }
    }

    /// Random bytes and their tag, as a chunk ciphertext would be.
    public static func blob(size: Int) -> (tag: Convergent.Tag, bytes: [UInt8]) {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<size).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return (MerkleTree.root(of: bytes), bytes)
    }

    private static func roundTrip(_ store: BlobStore) async throws {
        let small = blob(size: 100), large = blob(size: 3 * MerkleTree.leafSize + 17), empty = blob(size: 0)
        #expect(try await store.allTags() == [])
        #expect(try await store.get(small.tag) == nil)
        for item in [small, large, empty] { try await store.put(item.tag, item.bytes) }
        #expect(try await store.get(small.tag) == small.bytes)
        #expect(try await store.get(large.tag) == large.bytes)
        #expect(try await store.get(empty.tag) == [])
        #expect(try await store.allTags() == [small.tag, large.tag, empty.tag].sorted())
        try await store.delete(small.tag)
        try await store.delete(small.tag)  // absent: not an error
        #expect(try await store.get(small.tag) == nil)
        #expect(try await store.allTags() == [large.tag, empty.tag].sorted())
        try await store.put(small.tag, small.bytes)
        #expect(try await store.get(small.tag) == small.bytes, "a deleted tag can be stored again")
    }

    /// A put replaces what a tag held, and leaves one copy.
    private static func putReplaces(_ store: BlobStore, _ backend: any BlobBackend) async throws {
        let item = blob(size: 5000)
        try await backend.put(item.tag, [1, 2, 3])
        try await store.put(item.tag, item.bytes)
        try await store.put(item.tag, item.bytes)
        #expect(try await store.get(item.tag) == item.bytes)
        #expect(try await store.allTags() == [item.tag])
    }

    private static func batchPut(_ store: BlobStore) async throws {
        let earlier = blob(size: 900)
        try await store.put(earlier.tag, earlier.bytes)
        let batch = (0..<40).map { index in blob(size: index == 0 ? 0 : 50 * index + 1) }
        try await store.putAll([])
        try await store.putAll(batch + [batch[3], earlier] + batch.prefix(2))
        for item in batch + [earlier] { #expect(try await store.get(item.tag) == item.bytes) }
        #expect(try await store.allTags() == (batch + [earlier]).map(\.tag).sorted())
        try await store.putAll(batch)
        #expect(try await store.allTags().count == 41, "a batch of stored tags adds nothing")
    }

    /// More blobs than one listing page of S3 (1,000), each listed once.
    private static func listingPastOnePage(_ store: BlobStore) async throws {
        let items = (0..<1100).map { blob(size: 8 + $0 % 5) }
        for start in stride(from: 0, to: items.count, by: 100) {
            try await store.putAll(Array(items[start..<min(items.count, start + 100)]))
        }
        let listed = try await store.allTags()
        #expect(listed.count == Set(items.map(\.tag)).count)
        #expect(listed == Set(items.map(\.tag)).sorted())
    }

    private static func concurrentPutsOfOneTag(_ store: BlobStore) async throws {
        let item = blob(size: 64 * 1024)
        let others = (0..<8).map { _ in blob(size: 1000) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<16 { group.addTask { try await store.put(item.tag, item.bytes) } }
            for other in others { group.addTask { try await store.put(other.tag, other.bytes) } }
            try await group.waitForAll()
        }
        #expect(try await store.get(item.tag) == item.bytes)
        #expect(try await store.allTags() == ([item.tag] + others.map(\.tag)).sorted())
    }

    private static func concurrentBatches(_ store: BlobStore) async throws {
        let shared = (0..<6).map { _ in blob(size: 20_000) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for round in 0..<8 { group.addTask { try await store.putAll(round % 2 == 0 ? shared : shared.reversed()) } }
            try await group.waitForAll()
        }
        for item in shared { #expect(try await store.get(item.tag) == item.bytes) }
        #expect(try await store.allTags().count == 6)
    }

    /// The backend returns what it holds; the store above refuses bytes that no longer hash to
    /// their tag, and a good copy put again repairs them.
    private static func corruptionIsCaught(_ store: BlobStore, _ backend: any BlobBackend) async throws {
        let damaged = blob(size: 2 * MerkleTree.leafSize), intact = blob(size: 300)
        try await store.put(damaged.tag, damaged.bytes)
        try await store.put(intact.tag, intact.bytes)
        var rotten = damaged.bytes
        rotten[0] ^= 1
        try await backend.put(damaged.tag, rotten)  // bit rot, behind the store's back
        #expect(try await backend.get(damaged.tag) == rotten, "a backend does not verify")
        await #expect(throws: BlobStoreError.corrupt(damaged.tag)) { try await store.get(damaged.tag) }
        #expect(try await store.get(intact.tag) == intact.bytes)
        try await store.put(damaged.tag, damaged.bytes)
        #expect(try await store.get(damaged.tag) == damaged.bytes)
    }

    /// A quarantined blob reads as absent and leaves the listing; quarantining an absent tag is
    /// not an error.
    private static func quarantine(_ store: BlobStore, _ backend: any BlobBackend) async throws {
        let item = blob(size: 700), other = blob(size: 70)
        try await store.put(item.tag, item.bytes)
        try await store.put(other.tag, other.bytes)
        try await store.quarantine(item.tag)
        try await store.quarantine(item.tag)
        #expect(try await store.get(item.tag) == nil)
        #expect(try await store.allTags() == [other.tag])
    }
}
