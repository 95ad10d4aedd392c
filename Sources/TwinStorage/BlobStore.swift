import Convergent

/// Chunk ciphertexts by tag. Content-addressed and immutable: a tag's bytes never change, so `put` of
/// an existing tag whose bytes still hash to it is a no-op, and concurrent writers of one tag agree.
/// An existing blob is verified before it is trusted: one that no longer hashes to its tag is
/// replaced, so uploading the content again repairs it.
public protocol BlobStore: Sendable {
    /// Stores `bytes` under `tag` durably (when it returns, a crash cannot lose or tear the blob).
    /// The caller has checked that `tag` is the Merkle root of `bytes`.
    func put(_ tag: Tag, _ bytes: [UInt8]) async throws
    /// Stores several blobs as `put` does each, where a store can do it cheaper than one `put` at a
    /// time (one flush to the device for the batch instead of one per blob). A tag may repeat, and
    /// may already be stored. On failure throws `BlobBatchWriteError`, which names the blobs that
    /// may have reached storage, so that the caller can account for them.
    func putAll(_ blobs: [(tag: Tag, bytes: [UInt8])]) async throws
    /// The bytes under `tag`, checked against the tag on the way out; nil when absent.
    /// Throws `BlobStoreError.corrupt` when the stored bytes no longer hash to their tag.
    func get(_ tag: Tag) async throws -> [UInt8]?
    func contains(_ tag: Tag) async throws -> Bool
    /// Removes `tag`; removing an absent tag is not an error.
    func delete(_ tag: Tag) async throws
    /// Moves a corrupt blob out of the store, kept for inspection where the store can (removing an
    /// absent tag is not an error). The tag then reads as absent.
    func quarantine(_ tag: Tag) async throws
    /// Every stored tag (for audits and garbage collection).
    func allTags() async throws -> [Tag]
}

extension BlobStore {
    /// Stores with no place to keep corrupt blobs delete them.
    public func quarantine(_ tag: Tag) async throws { try await delete(tag) }

    /// One `put` after another, for stores with nothing cheaper.
    public func putAll(_ blobs: [(tag: Tag, bytes: [UInt8])]) async throws {
        var stored: [Tag] = []
        for blob in blobs {
            do {
                try await put(blob.tag, blob.bytes)
            } catch {
                throw BlobBatchWriteError(stored: stored, underlying: error)
            }
            stored.append(blob.tag)
        }
    }
}

public enum BlobStoreError: Error, Equatable, Sendable {
    /// Stored bytes do not hash to their tag: bit rot or tampering on the storage side.
    case corrupt(Tag)
}

/// A `putAll` that failed part way.
public struct BlobBatchWriteError: Error, Sendable {
    /// Blobs of the batch that may be on storage (complete, as every blob under its tag is), though
    /// not necessarily durably: the caller records them so that nothing stored goes unaccounted.
    public var stored: [Tag]
    /// What went wrong.
    public var underlying: any Error

    public init(stored: [Tag], underlying: any Error) {
        self.stored = stored
        self.underlying = underlying
    }
}
