import ArgumentParser
import BLS12381

/// `twin bench pairing`: median microseconds per BLS12-381 operation. Scalars are random; the
/// decompression timings include full validation (canonical x, on-curve, subgroup check).
struct BenchPairing: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pairing", abstract: "BLS12-381 timings (median µs per operation).")

    @Flag(help: "Print one JSON object and nothing else.") var json = false
    @Option(help: "Timed runs per operation.") var runs = 21
    @Option(help: "Time only these operations (comma-separated names, e.g. to profile one).") var only: String?

    func run() throws {
        let g1 = G1Projective.generator, g2 = G2Projective.generator
        let k = Fr.random()
        let p = g1.mulVartime(Fr.random()), q = g2.mulVartime(Fr.random())
        let pa = p.toAffine(), qa = q.toAffine()
        let e = pairing(pa, qa)
        let pairs = (0..<11).map { _ in (g1.mulVartime(Fr.random()).toAffine(), g2.mulVartime(Fr.random()).toAffine()) }
        let c1 = pa.compressedBytes, c2 = qa.compressedBytes
        let message = Array("attribute:friend".utf8), dst = Array("TWIN-BENCH-H2C".utf8)
        var sink = 0
        func micros(_ iterations: Int = 0, _ body: () -> Void) -> Double {
            rounded(BenchClock.medianMicros(iterations: iterations > 0 ? iterations : runs, body))
        }
        var x = pa.x
        let fpBatch = 1000
        let operations: [(String, () -> Double)] = [
            ("fp_mul", { rounded(BenchClock.medianMicros(iterations: runs) { for _ in 0..<fpBatch { x = x.multiplied(by: x) } } / Double(fpBatch), 4) }),
            ("fp_inverse", { micros { x = x.inverse() } }),
            ("g1_mul_ct", { micros { sink &+= p.mulConstantTime(k).isIdentity ? 1 : 0 } }),
            ("g1_mul_vartime", { micros { sink &+= p.mulVartime(k).isIdentity ? 1 : 0 } }),
            ("g2_mul_ct", { micros { sink &+= q.mulConstantTime(k).isIdentity ? 1 : 0 } }),
            ("g2_mul_vartime", { micros { sink &+= q.mulVartime(k).isIdentity ? 1 : 0 } }),
            ("gt_pow_ct", { micros { sink &+= e.powConstantTime(k).isOne ? 1 : 0 } }),
            ("gt_pow_vartime", { micros { sink &+= e.powVartime(k).isOne ? 1 : 0 } }),
            ("pairing", { micros { sink &+= pairing(pa, qa).isOne ? 1 : 0 } }),
            ("multi_pairing_11", { micros(max(5, runs / 2)) { sink &+= multiPairing(pairs).isOne ? 1 : 0 } }),
            ("hash_to_g1", { micros { sink &+= G1Projective.hash(toCurve: message, domainSeparationTag: dst).isIdentity ? 1 : 0 } }),
            ("g1_decompress", { micros { sink &+= ((try? G1Affine(compressed: c1)) == nil) ? 1 : 0 } }),
            ("g2_decompress", { micros { sink &+= ((try? G2Affine(compressed: c2)) == nil) ? 1 : 0 } }),
        ]
        let selected = only.map { Set($0.split(separator: ",").map(String.init)) }
        let rows = operations.filter { selected?.contains($0.0) ?? true }.map { ($0.0, $0.1()) }
        precondition(sink >= 0 && !x.isZero)
        if json {
            var object: [String: any Encodable] = [:]
            for (name, value) in rows { object[name] = value }
            printJSON(object)
        } else {
            print("operation".padding(toLength: 20, withPad: " ", startingAt: 0), "median µs")
            for (name, value) in rows {
                print(name.padding(toLength: 20, withPad: " ", startingAt: 0), String(value))
            }
        }
    }
}
