import Foundation
import Logging
import ServiceLifecycle
import TwinStorage

/// Deletes blobs no entry references any more, once they have been unreferenced for a grace period
/// (so an upload that is about to reference them again, or a reader mid-download, is never broken).
public struct GarbageCollector: Service {
    let store: any MetadataStore
    let blobs: any BlobStore
    let gracePeriod: TimeInterval
    let interval: Duration
    let logger: Logger
    let metrics = TwinMetrics()
    let gate: ChunkGate

    public init(store: any MetadataStore, blobs: any BlobStore, gracePeriod: TimeInterval, interval: Duration, logger: Logger) {
        self.init(store: store, blobs: blobs, gracePeriod: gracePeriod, interval: interval, logger: logger, gate: ChunkGate())
    }

    init(store: any MetadataStore, blobs: any BlobStore, gracePeriod: TimeInterval, interval: Duration, logger: Logger,
         gate: ChunkGate) {
        self.gate = gate
        self.store = store
        self.blobs = blobs
        self.gracePeriod = gracePeriod
        self.interval = interval
        self.logger = logger
    }

    /// One pass; returns how many chunks it freed.
    @discardableResult
    public func collect(now: Date = Date()) async throws -> Int {
        let (store, blobs, cutoff) = (self.store, self.blobs, now.addingTimeInterval(-gracePeriod))
        let tags = try await gate.withCollection {
            let tags = try await store.collectGarbage(unreferencedBefore: cutoff, now: now)
            for tag in tags { try await blobs.delete(tag) }
            return tags
        }
        if !tags.isEmpty {
            metrics.garbageCollected.increment(by: Int64(tags.count))
            logger.info("garbage collected", metadata: ["chunks": "\(tags.count)"])
        }
        return tags.count
    }

    public func run() async throws {
        // Cancellation ends the loop too: a cancelled sleep returns at once, and the loop would spin.
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                try await collect()
            } catch {
                logger.error("garbage collection failed", metadata: ["error": "\(error)"])
            }
            // Wakes at once on shutdown: a service that sleeps through it would hold the server up.
            let interval = self.interval
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
