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

    public init(store: any MetadataStore, blobs: any BlobStore, gracePeriod: TimeInterval, interval: Duration, logger: Logger) {
        self.store = store
        self.blobs = blobs
        self.gracePeriod = gracePeriod
        self.interval = interval
        self.logger = logger
    }

    /// One pass; returns how many chunks it freed.
    @discardableResult
    public func collect(now: Date = Date()) async throws -> Int {
        let tags = try await store.collectGarbage(unreferencedBefore: now.addingTimeInterval(-gracePeriod), now: now)
        for tag in tags { try await blobs.delete(tag) }
        if !tags.isEmpty {
            metrics.garbageCollected.increment(by: Int64(tags.count))
            logger.info("garbage collected", metadata: ["chunks": "\(tags.count)"])
        }
        return tags.count
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully {
            do {
                try await collect()
            } catch {
                logger.error("garbage collection failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: interval)
        }
    }
}
