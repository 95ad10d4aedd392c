import Synchronization

/// Values kept in memory within a budget of bytes, oldest dropped first: what a process made once and
/// may be asked for again (an upload run's encodings of files and of thumbnails, the gallery's
/// decrypted thumbnails). The caller states each value's size, so the budget counts what matters
/// (ciphertext, decoded bytes), and a value larger than the whole budget is not kept.
///
/// Several values may share a key (`append`), or a key may hold one value, the first offered
/// (`insertIfAbsent`). Dropping the oldest value is O(1): values leave in the order they came, and
/// the queue of their keys is compacted once most of it has left. Safe to share between tasks.
public final class ByteBudgetCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct Held {
        var value: Value
        var bytes: Int
    }

    private struct State {
        /// Per key, its values oldest first.
        var byKey: [Key: [Held]] = [:]
        /// One key per value held, oldest first from `start` (dropped ones sit before it).
        var order: [Key] = []
        var start = 0
        var bytes = 0

        mutating func add(_ held: Held, under key: Key, capacityBytes: Int) {
            byKey[key, default: []].append(held)
            order.append(key)
            bytes += held.bytes
            while bytes > capacityBytes {
                let oldest = order[start]
                bytes -= byKey[oldest]!.removeFirst().bytes
                if byKey[oldest]!.isEmpty { byKey[oldest] = nil }
                start += 1
            }
            if start > 1024, start * 2 > order.count {
                order.removeFirst(start)
                start = 0
            }
        }
    }

    public let capacityBytes: Int
    private let state = Mutex(State())

    public init(capacityBytes: Int) {
        self.capacityBytes = capacityBytes
    }

    /// The values held under `key`, oldest first.
    public func values(for key: Key) -> [Value] {
        state.withLock { $0.byKey[key]?.map(\.value) ?? [] }
    }

    /// The oldest value held under `key`.
    public func value(for key: Key) -> Value? {
        state.withLock { $0.byKey[key]?.first?.value }
    }

    /// Keeps `value`, of `bytes` bytes, under `key` beside any values already there; false when it
    /// is larger than the budget (nothing is dropped for it then).
    @discardableResult
    public func append(_ value: Value, bytes: Int, under key: Key) -> Bool {
        guard bytes <= capacityBytes else { return false }
        state.withLock { $0.add(Held(value: value, bytes: bytes), under: key, capacityBytes: capacityBytes) }
        return true
    }

    /// Keeps `value`, of `bytes` bytes, under `key` unless the key holds a value already; false when
    /// it was not kept.
    @discardableResult
    public func insertIfAbsent(_ value: Value, bytes: Int, under key: Key) -> Bool {
        guard bytes <= capacityBytes else { return false }
        return state.withLock { state in
            guard state.byKey[key] == nil else { return false }
            state.add(Held(value: value, bytes: bytes), under: key, capacityBytes: capacityBytes)
            return true
        }
    }

    /// How many values are held.
    public var count: Int { state.withLock { $0.order.count - $0.start } }

    /// How many bytes the values held account for.
    public var bytes: Int { state.withLock { $0.bytes } }
}
