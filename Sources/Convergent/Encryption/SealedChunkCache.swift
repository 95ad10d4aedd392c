import Synchronization

/// Remembers recently sealed chunks by plaintext, so a chunk seen again in one run (a re-shared photo,
/// the megabytes of XMP that every copy of a Photoshop export carries) is not compressed, encrypted
/// and tagged again.
///
/// Sound because sealing is a function of the plaintext and its region kind alone: the key is
/// derived from the content hash, the nonce from the key, and the encoding choice from the bytes, so
/// a remembered result is exactly what sealing again would produce. Entries are keyed by the
/// content hash, which the pipeline computes for every chunk anyway. Bounded by ciphertext bytes;
/// the oldest entries go first. One cache serves encoders of one key derivation only.
public final class SealedChunkCache: Sendable {
    struct Key: Hashable {
        var contentHash: Digest32
        var kind: RegionKind
        /// A digest of the chunk's key when a key server chose it (nil: derived from the content).
        var key: Digest32?
    }

    struct Entry {
        var ciphertext: HashedCiphertext
        var encoding: ChunkEncoding
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        var order: [Key] = []
        var oldest = 0
        var bytes = 0
    }

    public let capacityBytes: Int
    private let state = Mutex(State())

    public init(capacityBytes: Int = 64 << 20) {
        self.capacityBytes = capacityBytes
    }

    func entry(for key: Key) -> Entry? {
        state.withLock { $0.entries[key] }
    }

    func insert(_ entry: Entry, for key: Key) {
        guard entry.ciphertext.count <= capacityBytes else { return }
        state.withLock { state in
            guard state.entries[key] == nil else { return }
            state.entries[key] = entry
            state.order.append(key)
            state.bytes += entry.ciphertext.count
            while state.bytes > capacityBytes, state.oldest < state.order.count {
                let evicted = state.order[state.oldest]
                state.oldest += 1
                if let gone = state.entries.removeValue(forKey: evicted) { state.bytes -= gone.ciphertext.count }
            }
            // Drop the consumed prefix of the queue now and then, so it does not grow without bound.
            if state.oldest > 4096, state.oldest * 2 > state.order.count {
                state.order.removeFirst(state.oldest)
                state.oldest = 0
            }
        }
    }

    /// Chunks currently remembered.
    public var count: Int { state.withLock { $0.entries.count } }
}
