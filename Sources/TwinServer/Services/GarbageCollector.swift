import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import TwinStorage

/// Deletes blobs no entry references any more, once they have been unreferenced for a grace period
/// (so an upload that is about to reference them again, or a reader mid-download, is never broken).
///
/// Safety is decided in the database, not in this process: a pass moves the chunks it collects to
/// the store's doomed set in one transaction, deletes their blobs, and then forgets them; while a
/// chunk is doomed, recording it again is refused, so an upload in this server or another sharing
/// the store can never record a blob this pass deletes. Uploads never wait for a pass, nor a pass
/// for uploads, so collection cannot starve on a busy server.
public struct GarbageCollector: Service {
    let store: any MetadataStore
    let blobs: BlobStore
    let gracePeriod: TimeInterval
    let interval: Duration
    let logger: Logger
    let metrics = TwinMetrics()
    /// Opened once the stores are ready (migrated); no pass runs before.
    let startAfter: StartupGate?
    /// Where passes are reported for the dashboard (nil: nowhere).
    var activity: ServerActivity?

    public init(store: any MetadataStore, blobs: BlobStore, gracePeriod: TimeInterval, interval: Duration, logger: Logger,
                startAfter: StartupGate? = nil) {
        self.store = store
        self.blobs = blobs
        self.gracePeriod = gracePeriod
        self.interval = interval
        self.logger = logger
        self.startAfter = startAfter
    }

    /// One pass; returns how many chunks it freed.
    @discardableResult
    public func collect(now: Date = Date()) async throws -> Int {
        let tags = try await store.collectGarbage(unreferencedBefore: now.addingTimeInterval(-gracePeriod), now: now)
        for tag in tags { try await blobs.delete(tag) }
        try await store.forgetCollected(tags)
        if !tags.isEmpty {
            metrics.garbageCollected.increment(by: Int64(tags.count))
            logger.info("garbage collected", metadata: ["chunks": "\(tags.count)"])
        }
        return tags.count
    }
    public func run() async throws {
        if let startAfter {
            do { try await cancelWhenGracefulShutdown { try await startAfter.wait() } } catch { return }
        }
        // Cancellation ends the loop too: a cancelled sleep returns at once, and the loop would spin.
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                let chunks = try await collect()
                activity?.recordCollection(chunks: chunks, failure: nil)
            } catch {
                logger.error("garbage collection failed", metadata: ["error": "\(error)"])
                activity?.recordCollection(chunks: 0, failure: "\(error)")
            }
            // Wakes at once on shutdown: a service that sleeps through it would hold the server up.
            let interval = self.interval
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}

/// A one-way gate: `wait()` returns once `open()` has been called (at once after that), or throws
/// when its task is cancelled first.
public final class StartupGate: Sendable {
    private let isOpen = Mutex(false)

    public init() {}

    public func open() { isOpen.withLock { $0 = true } }

    /// Checks every 20 ms: it waits once, at start, for work that takes longer.
    public func wait() async throws {
        while !isOpen.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(20)) }
    }
}
