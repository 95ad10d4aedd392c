import Foundation
import Synchronization

/// Token buckets keyed by a client's address or a user's name: each key may spend `rate.burst`
/// tokens at once, refilled at `rate.perSecond`. A spend that finds the bucket empty is refused
/// with the seconds until a token is back (`Retry-After`).
///
/// The table is bounded: past `maximumKeys` it drops buckets that have refilled (they hold nothing
/// a fresh bucket would not), and if every bucket is still draining, the oldest ones, so a flood of
/// new addresses costs memory only up to the bound.
final class RateLimiter: Sendable {
    struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    let rate: ServerLimits.Rate
    let maximumKeys: Int
    private let buckets = Mutex<[String: Bucket]>([:])
    private let clock = ContinuousClock()

    init(_ rate: ServerLimits.Rate, maximumKeys: Int = 100_000) {
        self.rate = rate
        self.maximumKeys = maximumKeys
    }

    /// Takes `cost` tokens from `key`'s bucket; nil when they were there, otherwise the whole
    /// seconds to wait (at least 1) and nothing is taken.
    func spend(_ key: String, cost: Double = 1) -> Int? {
        let now = clock.now
        return buckets.withLock { buckets in
            var bucket = refilled(buckets[key] ?? Bucket(tokens: rate.burst, updated: now), at: now)
            defer {
                buckets[key] = bucket
                if buckets.count > maximumKeys { prune(&buckets, now: now) }
            }
            guard bucket.tokens >= cost else { return secondsUntil(bucket, holds: cost) }
            bucket.tokens -= cost
            return nil
        }
    }

    /// Seconds until `key` has a token, without spending one; nil when it has one now.
    func wait(for key: String) -> Int? {
        let now = clock.now
        return buckets.withLock { buckets in
            guard let stored = buckets[key] else { return nil }
            let bucket = refilled(stored, at: now)
            return bucket.tokens < 1 ? secondsUntil(bucket, holds: 1) : nil
        }
    }

    /// Whole seconds (at least 1) until `bucket` refills to `tokens`.
    private func secondsUntil(_ bucket: Bucket, holds tokens: Double) -> Int {
        guard rate.perSecond > 0 else { return Int.max }
        return max(1, Int(((tokens - bucket.tokens) / rate.perSecond).rounded(.up)))
    }

    private func refilled(_ bucket: Bucket, at now: ContinuousClock.Instant) -> Bucket {
        let elapsed = bucket.updated.duration(to: now)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        return Bucket(tokens: min(rate.burst, bucket.tokens + seconds * rate.perSecond), updated: now)
    }

    private func prune(_ buckets: inout [String: Bucket], now: ContinuousClock.Instant) {
        buckets = buckets.filter { refilled($0.value, at: now).tokens < rate.burst }
        if buckets.count > maximumKeys {
            let oldest = buckets.sorted { $0.value.updated < $1.value.updated }.prefix(buckets.count - maximumKeys / 2)
            for (key, _) in oldest { buckets[key] = nil }
        }
    }
}

/// A count of work in progress with a ceiling: `enter` takes a slot or answers nil at once (the
/// caller refuses with 503 and `Retry-After`, so no request waits holding memory).
final class InFlightLimit: Sendable {
    let maximum: Int
    private let count = Mutex(0)

    init(_ maximum: Int) { self.maximum = maximum }

    struct Slot {
        fileprivate let limit: InFlightLimit
        func leave() { limit.count.withLock { $0 -= 1 } }
    }

    func enter() -> Slot? {
        count.withLock { count in
            guard count < maximum else { return nil }
            count += 1
            return Slot(limit: self)
        }
    }
}
