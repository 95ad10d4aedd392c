import ArgumentParser
import Convergent
import Crypto
import CryptoExtras
import Foundation

/// `twin bench …`: benchmarks that print JSON; speed is measured here, never asserted in tests.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench",
        abstract: "Benchmarks (each says how it times; --json for one machine-readable object).",
        subcommands: [BenchCE.self, BenchPairing.self, BenchABE.self, BenchOPRF.self, BenchThumbnails.self])
}

/// Throughput of the convergent pipeline against its raw primitives.
///
/// The pipeline hashes every byte twice (`h_i` over the plaintext, the Merkle tag over the
/// ciphertext) and encrypts it once, so with S and A the raw SHA-256 and AES-GCM speeds its ceiling
/// is `1 / (2/S + 1/A)`; the report gives the pipeline's share of that ceiling.
struct BenchCE: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ce", abstract: "Convergent-encryption throughput.")

    @Flag(help: "Print one JSON object and nothing else.")
    var json = false

    @Option(help: "Bytes of random data per run.")
    var size = 128 << 20

    @Option(help: "Timed runs per measurement; each figure is its fastest run (interference on a shared host only ever slows a run down). SHA-256, AES-GCM and the one-core pipeline are timed in alternating rounds.")
    var runs = 5

    func run() async throws {
        let data = pseudoRandomBytes(size)
        let piece = 1 << 20
        let key = SymmetricKey(size: .bits256)

        // Every figure is the fastest of `runs` timed runs after one warm-up, the same estimator for
        // the one-core and the all-core runs: the speedups divide one by the other, and a median on
        // one side against a best on the other biases them low.
        func bestMegabytesPerSecond(_ bytes: Int, _ body: () async throws -> Void) async throws -> Double {
            var fastest = Double.infinity
            for round in 0...runs {
                let start = BenchClock.now()
                try await body()
                if round > 0 { fastest = min(fastest, Double(BenchClock.now() - start) / 1_000) }
            }
            return Double(bytes) / fastest
        }

        func hashAll() {
            data.withUnsafeBytes { raw in
                for start in stride(from: 0, to: raw.count, by: piece) {
                    var hasher = SHA256()
                    hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: raw[start..<min(raw.count, start + piece)]))
                    _ = hasher.finalize()
                }
            }
        }
        let nonce = AES.GCM.Nonce()
        func sealAll() {
            data.withUnsafeBytes { raw in
                for start in stride(from: 0, to: raw.count, by: piece) {
                    _ = try! AES.GCM.seal(UnsafeRawBufferPointer(rebasing: raw[start..<min(raw.count, start + piece)]),
                                          using: key, nonce: nonce)
                }
            }
        }
        let encoder = ConvergentEncoder()
        // The ceiling and the pipeline are timed in alternating rounds and each keeps its best round:
        // on a shared host the speed drifts within a minute, and measuring the primitives in one
        // stretch and the pipeline in another would put that drift into the ratio.
        var sha = 0.0, gcm = 0.0, oneCore = 0.0
        hashAll(); sealAll(); _ = try await encoder.encode(MemoryByteSource(data))
        for _ in 0..<runs {
            var start = BenchClock.now()
            hashAll()
            sha = max(sha, Double(size) / (Double(BenchClock.now() - start) / 1_000))
            start = BenchClock.now()
            sealAll()
            gcm = max(gcm, Double(size) / (Double(BenchClock.now() - start) / 1_000))
            start = BenchClock.now()
            _ = try await encoder.encode(MemoryByteSource(data))
            oneCore = max(oneCore, Double(size) / (Double(BenchClock.now() - start) / 1_000))
        }
        let sivNonce = AES.GCM._SIV.Nonce()
        let siv = try await bestMegabytesPerSecond(size) {
            data.withUnsafeBytes { raw in
                for start in stride(from: 0, to: raw.count, by: piece) {
                    _ = try! AES.GCM._SIV.seal(UnsafeRawBufferPointer(rebasing: raw[start..<min(raw.count, start + piece)]),
                                               using: key, nonce: sivNonce)
                }
            }
        }
        let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)
        let allCores = try await bestMegabytesPerSecond(size * cores) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<cores { group.addTask { _ = try await encoder.encode(MemoryByteSource(data)) } }
                try await group.waitForAll()
            }
        }
        // The same raw hashing on every core at once: how far this machine lets any work scale, the
        // yardstick for the pipeline's own all-core speedup.
        let shaAllCores = try await bestMegabytesPerSecond(size * cores) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<cores {
                    group.addTask {
                        data.withUnsafeBytes { raw in
                            for start in stride(from: 0, to: raw.count, by: piece) {
                                var hasher = SHA256()
                                hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: raw[start..<min(raw.count, start + piece)]))
                                _ = hasher.finalize()
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        let ceiling = 1 / (2 / sha + 1 / gcm)
        let report: [String: any Encodable] = [
            "bytes": size, "cores": cores,
            "sha256_mb_s": rounded(sha), "aes_gcm_mb_s": rounded(gcm), "aes_gcm_siv_mb_s": rounded(siv),
            "pipeline_one_core_mb_s": rounded(oneCore), "pipeline_all_cores_mb_s": rounded(allCores),
            "ceiling_mb_s": rounded(ceiling),
            "one_core_of_ceiling": rounded(oneCore / ceiling, 3),
            "all_cores_speedup": rounded(allCores / oneCore, 3),
            "sha256_all_cores_mb_s": rounded(shaAllCores),
            "sha256_all_cores_speedup": rounded(shaAllCores / sha, 3),
        ]
        if json {
            printJSON(report)
        } else {
            for key in report.keys.sorted() { print(key.padding(toLength: 26, withPad: " ", startingAt: 0), report[key]!) }
        }
    }
}

/// Incompressible bench input, fast to make: SplitMix64 seeded from the system's generator (one
/// getrandom call per byte would dominate the run).
func pseudoRandomBytes(_ count: Int) -> [UInt8] {
    var state = UInt64.random(in: .min ... .max)
    var out = [UInt8](repeating: 0, count: count)
    out.withUnsafeMutableBytes { raw in
        var offset = 0
        while offset < count {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            withUnsafeBytes(of: z) { word in
                let take = min(8, count - offset)
                raw.baseAddress!.advanced(by: offset).copyMemory(from: word.baseAddress!, byteCount: take)
            }
            offset += 8
        }
    }
    return out
}
