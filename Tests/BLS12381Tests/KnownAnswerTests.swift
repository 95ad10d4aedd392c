import Foundation
import Testing
@testable import BLS12381

@Suite("Shared known-answer vectors (shared/vectors/bls12_381.json)")
struct KnownAnswerTests {
    static let outcomes: [KnownAnswerVectors.Outcome] = {
        let data = try! Data(contentsOf: TestData.vectorFileURL())
        return try! KnownAnswerVectors.check(data)
    }()

    @Test("the file holds every expected section")
    func coverage() {
        let names = Self.outcomes.map(\.name)
        #expect(names.filter { $0.hasPrefix("g1_mul") }.count == 7)
        #expect(names.filter { $0.hasPrefix("g2_mul") }.count == 7)
        #expect(names.filter { $0.hasPrefix("pairing") }.count == 2)
        #expect(names.filter { $0.hasPrefix("hash_to_g1") }.count == 7)
        #expect(names.contains("g1_infinity_compressed"))
        #expect(names.contains("g2_infinity_compressed"))
    }

    @Test("vector passes", arguments: KnownAnswerTests.outcomes.map(\.name))
    func vector(name: String) {
        let o = Self.outcomes.first { $0.name == name }!
        #expect(o.failures.isEmpty, "\(name): \(o.failures)")
    }
}
