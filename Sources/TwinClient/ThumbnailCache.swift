import Convergent
import Synchronization

/// Thumbnails encoded in this run, by the picture they show (`Thumbnail.pictureDigest`): copies of
/// a photo, under other names or with other metadata, reuse the first one's thumbnail instead of
/// decoding the photo again. Two copies met at once are both decoded (they make the same bytes).
/// Bounded by the ciphertext bytes it holds, oldest dropped first.
final class ThumbnailCache: Sendable {
    private struct State {
        var byPicture: [Digest32: TwinSession.PreparedUpload] = [:]
        /// Pictures in the order they were remembered, oldest first.
        var order: [Digest32] = []
        var bytes = 0
    }

    private let state = Mutex(State())
    private let capacityBytes: Int

    init(capacityBytes: Int) { self.capacityBytes = capacityBytes }

    /// The thumbnail of `picture`, renamed to `name`; nil when none is held.
    func thumbnail(of picture: Digest32, name: String) -> TwinSession.PreparedUpload? {
        guard var prepared = state.withLock({ $0.byPicture[picture] }) else { return nil }
        prepared.name = name
        return prepared
    }

    func remember(_ prepared: TwinSession.PreparedUpload, of picture: Digest32) {
        let bytes = prepared.chunks.reduce(0) { $0 + $1.count }
        guard bytes <= capacityBytes else { return }
        state.withLock { state in
            guard state.byPicture.updateValue(prepared, forKey: picture) == nil else { return }
            state.order.append(picture)
            state.bytes += bytes
            while state.bytes > capacityBytes, !state.order.isEmpty {
                let oldest = state.order.removeFirst()
                state.bytes -= state.byPicture.removeValue(forKey: oldest)?.chunks.reduce(0) { $0 + $1.count } ?? 0
            }
        }
    }
}
