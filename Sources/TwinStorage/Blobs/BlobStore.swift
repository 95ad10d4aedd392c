import Convergent

/// Chunk ciphertexts by tag, verified: the one layer between the server and any `BlobBackend`.
///
/// Every blob read is checked against its tag (the Merkle root of its bytes) before anyone sees it,
/// so bit rot, a tampering operator or a buggy backend shows up as `BlobStoreError.corrupt`, never as
/// wrong bytes. Writers have checked their bytes against the tag already (the upload handler does),
/// so `put` stores without hashing again; a blob that went bad on storage is simply written over
/// when its content is uploaded again.
public struct BlobStore: Sendable {
    public let backend: any BlobBackend

    public init(_ backend: any BlobBackend) {
        self.backend = backend
    }

    /// Stores `bytes` under `tag`. The caller has checked that `tag` is the Merkle root of `bytes`.
    public func put(_ tag: Tag, _ bytes: [UInt8]) async throws {
        try await backend.put(tag, bytes)
    }

    /// Several checked blobs at once; see `BlobBackend.putAll`.
    public func putAll(_ blobs: [(tag: Tag, bytes: [UInt8])]) async throws {
        guard !blobs.isEmpty else { return }
        try await backend.putAll(blobs)
    }

    /// The bytes under `tag`, checked against it; nil when absent. Throws `BlobStoreError.corrupt`
    /// when they no longer hash to their tag.
    public func get(_ tag: Tag) async throws -> [UInt8]? {
        guard let bytes = try await backend.get(tag) else { return nil }
        guard MerkleTree.root(of: bytes) == tag else { throw BlobStoreError.corrupt(tag) }
        return bytes
    }

    public func delete(_ tag: Tag) async throws {
        try await backend.delete(tag)
    }

    /// Moves a damaged blob aside (see `BlobBackend.quarantine`).
    public func quarantine(_ tag: Tag) async throws {
        try await backend.quarantine(tag)
    }

    /// Every stored tag, sorted (audits).
    public func allTags() async throws -> [Tag] {
        var tags: [Tag] = []
        for try await tag in backend.list() { tags.append(tag) }
        return tags.sorted()
    }
}

public enum BlobStoreError: Error, Equatable, Sendable {
    /// Stored bytes do not hash to their tag: bit rot or tampering on the storage side.
    case corrupt(Tag)
}
