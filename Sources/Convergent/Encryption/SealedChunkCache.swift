import Caching

/// Remembers recently sealed chunks by plaintext, so a chunk seen again in one run (a re-shared photo,
/// the megabytes of XMP that every copy of a Photoshop export carries) is not compressed, encrypted
/// and tagged again.
///
/// Sound because sealing is a function of the plaintext and its region kind alone: the key is
/// derived from the content hash, the nonce from the key, and the encoding choice from the bytes, so
/// a remembered result is exactly what sealing again would produce. Entries are keyed by the
/// content hash, which the pipeline computes for every chunk anyway. Bounded by ciphertext bytes;
/// the oldest entries go first (`ByteBudgetCache`). One cache serves encoders of one key derivation only.
public final class SealedChunkCache: Sendable {
    struct Key: Hashable, Sendable {
        var contentHash: Digest32
        var kind: RegionKind
        /// A digest of the chunk's key when a key server chose it (nil: derived from the content).
        var key: Digest32?
    }

    struct Entry: Sendable {
        var ciphertext: HashedCiphertext
        var encoding: ChunkEncoding
    }

    private let entries: ByteBudgetCache<Key, Entry>
    public var capacityBytes: Int { entries.capacityBytes }

    public init(capacityBytes: Int = 64 << 20) {
        entries = ByteBudgetCache(capacityBytes: capacityBytes)
    }

    func entry(for key: Key) -> Entry? {
        entries.value(for: key)
    }

    func insert(_ entry: Entry, for key: Key) {
        entries.insertIfAbsent(entry, bytes: entry.ciphertext.count, under: key)
    }

    /// Chunks currently remembered.
    public var count: Int { entries.count }
}
