import Foundation
import Synchronization
import TwinStorage

/// Server-wide totals for `/metrics`, read from the store at most once per `lifetime`: scrapes need
/// no login, so however many arrive they share one aggregate read instead of each paying for
/// full-table sums.
final class StatisticsCache: Sendable {
    let store: any MetadataStore
    let lifetime: TimeInterval
    private let latest = Mutex<(at: Date, value: StoreStatistics)?>(nil)

    init(store: any MetadataStore, lifetime: TimeInterval = 10) {
        self.store = store
        self.lifetime = lifetime
    }

    func statistics(now: Date = Date()) async throws -> StoreStatistics {
        if let cached = latest.withLock({ $0 }), now.timeIntervalSince(cached.at) < lifetime { return cached.value }
        let value = try await store.statistics()
        latest.withLock { $0 = (now, value) }
        return value
    }
}
