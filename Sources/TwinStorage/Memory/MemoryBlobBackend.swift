import Convergent

/// `BlobBackend` in memory: for tests and ephemeral servers.
public actor MemoryBlobBackend: BlobBackend {
    private var blobs: [Tag: [UInt8]] = [:]

    public init() {}

    public func put(_ tag: Tag, _ bytes: [UInt8]) {
        blobs[tag] = bytes
    }

    public func get(_ tag: Tag) -> [UInt8]? { blobs[tag] }

    public func delete(_ tag: Tag) { blobs[tag] = nil }

    public nonisolated func list() -> AsyncThrowingStream<Tag, any Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                for tag in await self.blobs.keys { continuation.yield(tag) }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Rewrites stored bytes behind the store's back, as bit rot would (tests).
    public func tamper(_ tag: Tag, _ change: @Sendable (inout [UInt8]) -> Void) {
        guard var bytes = blobs[tag] else { return }
        change(&bytes)
        blobs[tag] = bytes
    }
}
