import NIOPosix  // NIOThreadPool: the blocking sync runs there, off the cooperative pool.
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Group commit: makes writes already committed to a file durable with one sync for everyone waiting.
///
/// A caller commits first (SQLite at `synchronous = NORMAL` appends its frames to the write-ahead log
/// without syncing), then asks for a sync. A sync that *starts* after a commit finished covers it, so a
/// caller arriving while a sync is in flight waits for the next one, and every caller arriving during
/// that flight shares it: with N commits racing, about two syncs instead of N, and the database's
/// queue never stalls behind the disk (with `FULL`, each commit synced the log on the queue).
final class GroupSync: Sendable {
    private struct State {
        /// Syncs started so far; the one in flight, if any, is number `started`.
        var started: UInt64 = 0
        var running = false
        /// Callers by the number of the sync they wait for.
        var waiters: [UInt64: [CheckedContinuation<Void, any Error>]] = [:]
    }

    private let state = Mutex(State())
    private let performSync: @Sendable () async throws -> Void

    /// - Parameter performSync: makes everything written so far durable.
    init(_ performSync: @escaping @Sendable () async throws -> Void) {
        self.performSync = performSync
    }

    /// Syncs `path` (fdatasync on a fresh descriptor, on NIO's blocking pool). A missing file has
    /// nothing to sync: SQLite removes its log only after checkpointing it into the synced database.
    convenience init(syncingFileAt path: String) {
        self.init {
            try await NIOThreadPool.singleton.runIfActive {
                let descriptor = open(path, O_RDONLY | O_CLOEXEC)
                if descriptor < 0 {
                    if errno == ENOENT { return }
                    throw SQLiteMetadataStoreError.syncFailed(path: path, code: errno)
                }
                defer { close(descriptor) }
                #if canImport(Darwin)
                let status = fsync(descriptor)
                #else
                let status = fdatasync(descriptor)
                #endif
                if status != 0 { throw SQLiteMetadataStoreError.syncFailed(path: path, code: errno) }
            }
        }
    }

    /// Returns once a sync that started after this call has completed; throws if that sync failed.
    func sync() async throws {
        try await withCheckedThrowingContinuation { continuation in
            let startNow = state.withLock { state in
                // The sync in flight may have started before the caller's commit: wait for the next.
                state.waiters[state.started + 1, default: []].append(continuation)
                guard !state.running else { return false }
                state.running = true
                state.started += 1
                return true
            }
            if startNow { Task { await runSyncs() } }
        }
    }

    /// Runs syncs back to back while callers wait for one.
    private func runSyncs() async {
        while true {
            let result: Result<Void, any Error>
            do {
                try await performSync()
                result = .success(())
            } catch {
                result = .failure(error)
            }
            let (served, more) = state.withLock { state in
                let served = state.waiters.removeValue(forKey: state.started) ?? []
                guard state.waiters[state.started + 1] != nil else {
                    state.running = false
                    return (served, false)
                }
                state.started += 1
                return (served, true)
            }
            for continuation in served { continuation.resume(with: result) }
            if !more { return }
        }
    }

    /// Syncs started so far (for tests).
    var syncCount: UInt64 { state.withLock { $0.started } }
    /// Callers waiting for a sync (for tests).
    var waitingCount: Int { state.withLock { $0.waiters.values.reduce(0) { $0 + $1.count } } }
}
