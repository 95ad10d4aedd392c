import ArgumentParser
import BLS12381
import Foundation

/// `twin vectors …`: checks known-answer vector files against this build's implementations.
struct Vectors: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vectors",
        abstract: "Check known-answer vector files.",
        subcommands: [VectorsBLS12381.self])
}

/// `twin vectors bls12-381 FILE.json`: every vector of a file in the format of
/// `shared/vectors/bls12_381.json`, with the same checks the test-suite runs
/// (`KnownAnswerVectors` in the BLS12381 module).
struct VectorsBLS12381: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bls12-381",
        abstract: "Check BLS12-381 vectors (scalar multiples, pairings, hash to G1, identity encodings).")

    @Argument(help: "Vector file (JSON, format of shared/vectors/bls12_381.json).")
    var file: String

    func run() throws {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: file)) } catch {
            throw ValidationError("cannot read \(file): \(error.localizedDescription)")
        }
        let outcomes: [KnownAnswerVectors.Outcome]
        do { outcomes = try KnownAnswerVectors.check(data) } catch {
            throw ValidationError("\(error)")
        }
        var failed = 0
        for outcome in outcomes where !outcome.passed {
            failed += 1
            print("FAIL \(outcome.name): \(outcome.failures.joined(separator: "; "))")
        }
        print("\(outcomes.count - failed) passed, \(failed) failed")
        if failed > 0 { throw ExitCode(1) }
    }
}
