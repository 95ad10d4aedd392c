import Convergent

/// `BlobStore` in memory, for tests and ephemeral servers. It verifies on `get` like the durable
/// stores, so code tested against it meets the same failures.
public actor MemoryBlobStore: BlobStore {
    private var blobs: [Tag: [UInt8]] = [:]

    public init() {}

    public func put(_ tag: Tag, _ bytes: [UInt8]) {
        if let existing = blobs[tag], MerkleTree.root(of: existing) == tag { return }
        blobs[tag] = bytes
    }

    public func get(_ tag: Tag) throws -> [UInt8]? {
        guard let bytes = blobs[tag] else { return nil }
        guard MerkleTree.root(of: bytes) == tag else { throw BlobStoreError.corrupt(tag) }
        return bytes
    }

    public func contains(_ tag: Tag) -> Bool { blobs[tag] != nil }

    public func delete(_ tag: Tag) { blobs[tag] = nil }

    public func allTags() -> [Tag] { blobs.keys.sorted() }

    /// Rewrites stored bytes behind the store's back, as bit rot would (tests only).
    func tamper(_ tag: Tag, _ change: (inout [UInt8]) -> Void) {
        guard var bytes = blobs[tag] else { return }
        change(&bytes)
        blobs[tag] = bytes
    }
}
