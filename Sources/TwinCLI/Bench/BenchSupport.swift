import Foundation

/// Shared plumbing of the `twin bench …` commands: clocks, medians and JSON output, so every
/// benchmark reports the same way and nothing is asserted on time in tests.
enum BenchClock {
    /// Monotonic nanoseconds.
    @inline(__always)
    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// Runs `body` `iterations` times after `warmup` untimed runs and returns the median duration
    /// of one run in microseconds. The median resists the odd preempted run on a shared machine.
    static func medianMicros(iterations: Int, warmup: Int = 2, _ body: () -> Void) -> Double {
        for _ in 0..<warmup { body() }
        var samples: [Double] = []
        samples.reserveCapacity(iterations)
        for _ in 0..<iterations {
            let start = now()
            body()
            samples.append(Double(now() - start) / 1_000)
        }
        samples.sort()
        let mid = samples.count / 2
        return samples.count % 2 == 1 ? samples[mid] : (samples[mid - 1] + samples[mid]) / 2
    }
}

/// Prints a flat JSON object with sorted keys: the one machine-readable line a command emits.
/// Through `JSONEncoder`, not `JSONSerialization`, whose sorted keys load ICU's collation data, a
/// cost a short command such as `twin upload --json` would pay after its last request.
func printJSON(_ object: [String: any Encodable]) {
    struct Flat: Encodable {
        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }
        var object: [String: any Encodable]
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Key.self)
            for (key, value) in object { try container.encode(value, forKey: Key(stringValue: key)) }
        }
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    print(String(decoding: try! encoder.encode(Flat(object: object)), as: UTF8.self))
}

/// Rounds for human-readable and JSON output alike.
func rounded(_ value: Double, _ digits: Int = 2) -> Double {
    let scale = pow(10.0, Double(digits))
    return (value * scale).rounded() / scale
}
