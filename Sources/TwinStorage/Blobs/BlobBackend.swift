import Convergent

/// Where blobs live: a flat, content-addressed namespace of immutable byte strings named by tag.
///
/// A backend stores and returns bytes and does nothing else: it never hashes, verifies or
/// interprets them. `BlobStore`, one layer above, checks every blob read against its tag, for every
/// backend alike. Adding a backend means implementing these four requirements and running
/// `TwinStorageConformance.BlobBackendConformance` on it.
///
/// Blobs are immutable and named by content, so writers of one tag (threads, processes, servers)
/// write the same bytes: a backend may let the last write win, and no caller needs a lock.
public protocol BlobBackend: Sendable {
    /// Stores `bytes` under `tag`, replacing whatever is there. When it returns, the blob is durable
    /// and complete: no reader ever sees part of it, and a crash cannot lose it.
    func put(_ tag: Tag, _ bytes: [UInt8]) async throws
    /// The bytes under `tag`, or nil when there is no such blob.
    func get(_ tag: Tag) async throws -> [UInt8]?
    /// Removes `tag`; removing an absent tag is not an error.
    func delete(_ tag: Tag) async throws
    /// Every stored tag, once each, in no promised order.
    func list() -> AsyncThrowingStream<Tag, any Error>

    /// Stores several blobs as `put` does each, where a backend can do it cheaper (one device flush
    /// for the batch, requests in parallel). A tag may repeat. On failure throws
    /// `BlobBatchWriteError` naming the blobs that may have reached storage.
    func putAll(_ blobs: [(tag: Tag, bytes: [UInt8])]) async throws
    /// Moves a blob out of the namespace, kept for inspection where the backend can; removing an
    /// absent tag is not an error. The tag then reads as absent.
    func quarantine(_ tag: Tag) async throws
}

extension BlobBackend {
    /// Backends with no place to keep damaged blobs delete them.
    public func quarantine(_ tag: Tag) async throws { try await delete(tag) }

    /// One `put` after another, for backends with nothing cheaper.
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
