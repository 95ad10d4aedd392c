import ArgumentParser
import KPABE

/// Median milliseconds of the KP-ABE operations at the sizes the issue names.
struct BenchABE: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "abe", abstract: "KP-ABE timings (median ms).")

    @Flag(help: "Print one JSON object and nothing else.") var json = false
    @Option(help: "Timed runs per operation.") var runs = 15

    func run() throws {
        let names = (1...10).map { "attribute-\($0)" }
        let tenLeaves = try PolicyParser.parse(names.joined(separator: " and "))
        let oneOfTen = try PolicyParser.parse(names.joined(separator: " or "))
        let (parameters, master) = KPABE.setup()
        let andKey = try KPABE.keyGen(master, policy: tenLeaves)
        let orKey = try KPABE.keyGen(master, policy: oneOfTen)
        let ciphertext = try KPABE.encrypt([UInt8](repeating: 7, count: 32), attributes: names, to: parameters)
        func ms(_ body: () throws -> Void) rethrows -> Double {
            var failure: Error?
            let micros = BenchClock.medianMicros(iterations: runs) {
                do { try body() } catch { failure = error }
            }
            if let failure { fatalError("benchmark operation failed: \(failure)") }
            return rounded(micros / 1000, 3)
        }
        let report: [String: any Encodable] = [
            "setup_ms": ms { _ = KPABE.setup() },
            "keygen_10_leaves_ms": try ms { _ = try KPABE.keyGen(master, policy: tenLeaves) },
            "encrypt_10_attributes_ms": try ms { _ = try KPABE.encrypt([UInt8](repeating: 7, count: 32), attributes: names, to: parameters) },
            "decrypt_10_leaves_ms": try ms { _ = try KPABE.decrypt(ciphertext, with: andKey) },
            "decrypt_1_leaf_ms": try ms { _ = try KPABE.decrypt(ciphertext, with: orKey) },
            "decrypt_10_leaves_pairings": KPABE.pairingCount(ciphertext, with: andKey)!,
            "decrypt_1_leaf_pairings": KPABE.pairingCount(ciphertext, with: orKey)!,
        ]
        if json {
            printJSON(report)
        } else {
            for key in report.keys.sorted() { print(key.padding(toLength: 28, withPad: " ", startingAt: 0), report[key]!) }
        }
    }
}
