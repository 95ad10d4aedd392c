import Foundation
import Synchronization
import TwinStorage

/// Server-wide totals for `/metrics` and `/v1/stats`, read from the store at most once per
/// `lifetime`: scrapes need no login, so however many arrive they share one aggregate read instead
/// of each paying for full-table sums.
///
/// `coarse` (on with a dedup threshold): counts in thousands and bytes in GiB, rounded down, and
/// read at most once a minute. Exact totals would be an existence oracle of their own: a user who
/// sends a chunk and sees the stored bytes not grow learns that it was there.
final class StatisticsCache: Sendable {
    let store: any MetadataStore
    let lifetime: TimeInterval
    let coarse: Bool
    private let latest = Mutex<(at: Date, value: StoreStatistics)?>(nil)

    init(store: any MetadataStore, lifetime: TimeInterval = 10, coarse: Bool = false) {
        self.store = store
        self.lifetime = coarse ? max(lifetime, 60) : lifetime
        self.coarse = coarse
    }

    func statistics(now: Date = Date()) async throws -> StoreStatistics {
        if let cached = latest.withLock({ $0 }), now.timeIntervalSince(cached.at) < lifetime { return cached.value }
        var value = try await store.statistics()
        if coarse {
            let (count, bytes) = (1000, 1 << 30)
            value = StoreStatistics(users: value.users, entries: value.entries / count * count, files: value.files / count * count,
                                    chunks: value.chunks / count * count, logicalBytes: value.logicalBytes / bytes * bytes,
                                    storedBytes: value.storedBytes / bytes * bytes)
        }
        latest.withLock { $0 = (now, value) }
        return value
    }
}
