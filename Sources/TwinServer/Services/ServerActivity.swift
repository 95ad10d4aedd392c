import Foundation
import Hummingbird
import Synchronization
import TwinStorage

/// What this server process has been doing, for the operator's dashboard: requests, errors and
/// committed uploads per minute over the last hour, the garbage collector's last pass, and samples
/// of the store's totals over the last day. Kept in memory: a restarted server starts a new history.
final class ServerActivity: Sendable {
    struct Minute: Sendable {
        var start: Date
        var requests = 0
        var clientErrors = 0
        var serverErrors = 0
        var commits = 0
    }

    struct Sample: Sendable {
        var time: Date
        var logicalBytes: Int
        var storedBytes: Int
    }

    struct Collection: Sendable {
        var time: Date
        var chunks: Int
        var failure: String?
    }

    private struct State {
        var minutes: [Minute] = []
        var samples: [Sample] = []
        var lastCollection: Collection?
    }

    static let minutesKept = 60
    static let samplesKept = 24 * 60
    let started = Date()
    private let state = Mutex(State())

    func record(status: Int, commit: Bool, now: Date = Date()) {
        state.withLock { state in
            let minute = Date(timeIntervalSince1970: (now.timeIntervalSince1970 / 60).rounded(.down) * 60)
            if state.minutes.last?.start != minute {
                state.minutes.append(Minute(start: minute))
                if state.minutes.count > Self.minutesKept { state.minutes.removeFirst(state.minutes.count - Self.minutesKept) }
            }
            let last = state.minutes.count - 1
            state.minutes[last].requests += 1
            if (400..<500).contains(status) { state.minutes[last].clientErrors += 1 }
            if status >= 500 { state.minutes[last].serverErrors += 1 }
            if commit, (200..<300).contains(status) { state.minutes[last].commits += 1 }
        }
    }

    func recordCollection(chunks: Int, failure: String?, now: Date = Date()) {
        state.withLock { $0.lastCollection = Collection(time: now, chunks: chunks, failure: failure) }
    }

    func recordSample(_ statistics: StoreStatistics, now: Date = Date()) {
        state.withLock { state in
            state.samples.append(Sample(time: now, logicalBytes: statistics.logicalBytes, storedBytes: statistics.storedBytes))
            if state.samples.count > Self.samplesKept { state.samples.removeFirst(state.samples.count - Self.samplesKept) }
        }
    }

    var minutes: [Minute] { state.withLock { $0.minutes } }
    var samples: [Sample] { state.withLock { $0.samples } }
    var lastCollection: Collection? { state.withLock { $0.lastCollection } }
}

/// Counts every request and its outcome into `ServerActivity` (errors thrown count by the status
/// the error middleware gives them).
struct ActivityMiddleware<Context: RequestContext>: RouterMiddleware {
    let activity: ServerActivity

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let commit = request.method == .post && request.uri.path.hasSuffix("/commit")
        do {
            let response = try await next(request, context)
            activity.record(status: Int(response.status.code), commit: commit)
            return response
        } catch let error as any HTTPResponseError {
            activity.record(status: Int(error.status.code), commit: commit)
            throw error
        } catch {
            activity.record(status: 500, commit: commit)
            throw error
        }
    }
}

import ServiceLifecycle

/// Samples the store's totals into `ServerActivity` once a minute (after the stores are prepared),
/// for the dashboard's history.
struct StatisticsSampler: Service {
    let statistics: StatisticsCache
    let activity: ServerActivity
    let interval: Duration
    let startAfter: StartupGate

    func run() async throws {
        do { try await cancelWhenGracefulShutdown { try await startAfter.wait() } } catch { return }
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            if let totals = try? await statistics.statistics() { activity.recordSample(totals) }
            let interval = self.interval
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
