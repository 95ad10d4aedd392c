import Convergent

/// Chunk ciphertexts by tag. Content-addressed and immutable: a tag's bytes never change, so `put` of
/// an existing tag is a no-op and concurrent writers of one tag agree.
public protocol BlobStore: Sendable {
    /// Stores `bytes` under `tag` durably (when it returns, a crash cannot lose or tear the blob).
    /// The caller has checked that `tag` is the Merkle root of `bytes`.
    func put(_ tag: Tag, _ bytes: [UInt8]) async throws
    /// The bytes under `tag`, checked against the tag on the way out; nil when absent.
    /// Throws `BlobStoreError.corrupt` when the stored bytes no longer hash to their tag.
    func get(_ tag: Tag) async throws -> [UInt8]?
    func contains(_ tag: Tag) async throws -> Bool
    /// Removes `tag`; removing an absent tag is not an error.
    func delete(_ tag: Tag) async throws
    /// Every stored tag (for audits and garbage collection).
    func allTags() async throws -> [Tag]
}

public enum BlobStoreError: Error, Equatable, Sendable {
    /// Stored bytes do not hash to their tag: bit rot or tampering on the storage side.
    case corrupt(Tag)
}
