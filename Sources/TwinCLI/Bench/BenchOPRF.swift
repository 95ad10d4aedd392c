import ArgumentParser
import Crypto
import CryptoExtras
import Foundation

/// `twin bench oprf`: the two oblivious PRFs swift-crypto offers for server-aided keys, per
/// evaluation, on each side: RSA blind signatures (RFC 9474, RSABSSA-SHA384-PSSZERO-Deterministic,
/// 2048 and 3072 bits) and the P-384 VOPRF (RFC 9497). Evaluations per second are 10^6 / median µs.
struct BenchOPRF: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "oprf", abstract: "Key-server OPRF timings (median µs per evaluation).")

    @Flag(help: "Print one JSON object and nothing else.") var json = false
    @Option(help: "Timed runs per operation.") var runs = 51

    func run() throws {
        let message = Data(repeating: 0x5a, count: 64)
        var rows: [(String, Double)] = []
        func micros(_ body: () throws -> Void) rethrows -> Double {
            var failure: (any Error)?
            let median = BenchClock.medianMicros(iterations: runs) {
                do { try body() } catch { failure = error }
            }
            if let failure { try? { throw failure }() }
            return rounded(median)
        }
        for bits in [2048, 3072] {
            let key = try _RSA.BlindSigning.PrivateKey(keySize: .init(bitCount: bits), parameters: .RSABSSA_SHA384_PSSZERO_Deterministic)
            let publicKey = key.publicKey
            let prepared = publicKey.prepare(message)
            let blinded = try publicKey.blind(prepared)
            let signature = try key.blindSignature(for: blinded.blindedMessage)
            rows.append(("rsa\(bits)_server_sign", try micros { _ = try key.blindSignature(for: blinded.blindedMessage) }))
            rows.append(("rsa\(bits)_client_blind_finalize", try micros {
                let fresh = try publicKey.blind(prepared)
                _ = try publicKey.finalize(try key.blindSignature(for: fresh.blindedMessage), for: prepared, blindingInverse: fresh.inverse)
            } - rows[rows.count - 1].1))
            _ = signature
        }
        let server = P384._VOPRF.PrivateKey()
        let client = server.publicKey
        let input = try client.blind(message)
        let evaluation = try server.evaluate(input.blindedElement)
        rows.append(("voprf_p384_server_evaluate", try micros { _ = try server.evaluate(input.blindedElement) }))
        rows.append(("voprf_p384_client_blind", try micros { _ = try client.blind(message) }))
        rows.append(("voprf_p384_client_finalize", try micros { _ = try client.finalize(input, using: evaluation) }))
        if json {
            var object: [String: any Encodable] = [:]
            for (name, value) in rows { object[name] = value }
            printJSON(object)
        } else {
            print("operation".padding(toLength: 34, withPad: " ", startingAt: 0), "median µs", "per second")
            for (name, value) in rows {
                print(name.padding(toLength: 34, withPad: " ", startingAt: 0), String(value), Int(1e6 / max(value, 0.001)))
            }
        }
    }
}
