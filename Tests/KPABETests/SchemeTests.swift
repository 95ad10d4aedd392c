import BLS12381
import BinaryCoding
import KPABE
import Testing
import TestSupport

/// One authority shared by the tests (setup costs a pairing).
let authority = KPABE.setup()

@Suite("KP-ABE")
struct SchemeTests {
    static let policies = [
        "family",
        "family or (friend and vacation)",
        "a and b and c",
        "2 of (alice, bob, carol)",
        "friend or 2 of (a, b and c, (d or e))",
        "3 of (a, a, b, c)",  // a repeated leaf
        "\"Paris 2026\" and 家族",
        "2 of (x and y, 2 of (p, q, r), z)",
    ]
    static let attributeSets: [Set<String>] = [
        ["family"], ["friend"], ["friend", "vacation"], ["a", "b"], ["a", "b", "c"], ["alice", "carol"],
        ["bob"], ["b", "c", "e"], ["a", "d"], ["Paris 2026", "家族"], ["paris 2026", "家族"],
        ["x", "y", "q", "r"], ["x", "z"], ["p", "z"], ["a"],
    ]

    @Test("decryption succeeds exactly when the policy is satisfied", arguments: policies)
    func matrix(policyText: String) throws {
        let policy = try PolicyParser.parse(policyText)
        let key = try KPABE.keyGen(authority.1, policy: policy)
        for attributes in Self.attributeSets {
            let payload = Array("K_M for \(attributes.sorted())".utf8)
            let ciphertext = try KPABE.encrypt(payload, attributes: attributes, to: authority.0)
            if policy.isSatisfied(by: attributes) {
                #expect(try KPABE.decrypt(ciphertext, with: key) == payload, "\(policyText) / \(attributes)")
            } else {
                #expect(throws: KPABEError.policyNotSatisfied, "\(policyText) / \(attributes)") {
                    try KPABE.decrypt(ciphertext, with: key)
                }
            }
        }
    }

    @Test("property: random policies and attribute sets agree with the plain evaluator", arguments: 0..<6)
    func randomized(seed: UInt64) throws {
        var generator = SplitMix64(seed: seed)
        let universe = ["a", "b", "c", "d", "e", "f"]
        func randomPolicy(depth: Int) -> Policy {
            if depth == 0 || Int.random(in: 0..<3, using: &generator) == 0 {
                return .attribute(universe.randomElement(using: &generator)!)
            }
            let n = Int.random(in: 1...3, using: &generator)
            return .threshold(Int.random(in: 1...n, using: &generator), (0..<n).map { _ in randomPolicy(depth: depth - 1) })
        }
        let policy = randomPolicy(depth: 3)
        let key = try KPABE.keyGen(authority.1, policy: policy)
        for _ in 0..<4 {
            let attributes = Set(universe.filter { _ in Bool.random(using: &generator) })
            guard !attributes.isEmpty else { continue }
            let ciphertext = try KPABE.encrypt([1, 2, 3], attributes: attributes, to: authority.0)
            let result = Result { try KPABE.decrypt(ciphertext, with: key) }
            if policy.isSatisfied(by: attributes) {
                #expect((try? result.get()) == [1, 2, 3], "\(policy) / \(attributes)")
            } else {
                #expect(throws: KPABEError.policyNotSatisfied) { try result.get() }
            }
        }
    }

    @Test("decryption uses a minimal satisfying set: |leaves| + 1 pairings")
    func minimalPlan() throws {
        let key = try KPABE.keyGen(authority.1, policy: try PolicyParser.parse("(a and b and c) or d or 2 of (e, f, g)"))
        let all = try KPABE.encrypt([0], attributes: ["a", "b", "c", "d", "e", "f", "g"], to: authority.0)
        #expect(KPABE.pairingCount(all, with: key) == 2)
        let threshold = try KPABE.encrypt([0], attributes: ["a", "b", "c", "e", "g"], to: authority.0)
        #expect(KPABE.pairingCount(threshold, with: key) == 3)
        #expect(try KPABE.decrypt(threshold, with: key) == [0])
    }

    @Test("colluding users cannot combine key components")
    func collusion() throws {
        // Neither "a and c" nor "b and d" is satisfied by {a, b}; mixing their components must not help.
        let first = try KPABE.keyGen(authority.1, policy: try PolicyParser.parse("a and c"))
        let second = try KPABE.keyGen(authority.1, policy: try PolicyParser.parse("b and d"))
        let ciphertext = try KPABE.encrypt([42], attributes: ["a", "b"], to: authority.0)
        #expect(throws: KPABEError.policyNotSatisfied) { try KPABE.decrypt(ciphertext, with: first) }
        #expect(throws: KPABEError.policyNotSatisfied) { try KPABE.decrypt(ciphertext, with: second) }
        // Splice: a key for "a and b" whose b-component comes from another user's key ("b and d").
        let honest = try KPABE.keyGen(authority.1, policy: try PolicyParser.parse("a and b"))
        #expect(try KPABE.decrypt(ciphertext, with: honest) == [42])
        let spliced = try splice(honest, leaf: 1, from: second, leaf: 0)
        #expect(throws: KPABEError.decryptionFailed) { try KPABE.decrypt(ciphertext, with: spliced) }
    }

    @Test("keys and ciphertexts of another authority are refused")
    func wrongAuthority() throws {
        let other = KPABE.setup()
        let key = try KPABE.keyGen(other.1, policy: .attribute("a"))
        let ciphertext = try KPABE.encrypt([7], attributes: ["a"], to: authority.0)
        #expect(throws: KPABEError.wrongAuthority) { try KPABE.decrypt(ciphertext, with: key) }
    }

    @Test("every bit flip of a ciphertext is refused with a typed error")
    func tampering() throws {
        let key = try KPABE.keyGen(authority.1, policy: .attribute("a"))
        let bytes = try KPABE.encrypt(Array(repeating: 9, count: 32), attributes: ["a", "b"], to: authority.0).encoded()
        for bit in stride(from: 0, to: bytes.count * 8, by: 3) {
            var tampered = bytes
            tampered[bit / 8] ^= 1 << UInt8(bit % 8)
            #expect(throws: (any Error).self) {
                let ciphertext = try Ciphertext(decoding: tampered)
                _ = try KPABE.decrypt(ciphertext, with: key)
            }
        }
    }

    @Test("encodings round-trip and decoders refuse truncation, trailing bytes and bad points")
    func encodings() throws {
        let key = try KPABE.keyGen(authority.1, policy: try PolicyParser.parse("x or 2 of (y, z, \"w w\")"))
        let ciphertext = try KPABE.encrypt([1, 2, 3], attributes: ["z", "w w", "y"], to: authority.0)
        let decodedKey = try DecryptionKey(decoding: key.encoded())
        #expect(decodedKey.encoded() == key.encoded())
        #expect(try KPABE.decrypt(try Ciphertext(decoding: ciphertext.encoded()), with: decodedKey) == [1, 2, 3])
        #expect(try PublicParameters(decoding: authority.0.encoded()) == authority.0)
        #expect(try MasterSecret(decoding: authority.1.encoded()).encoded() == authority.1.encoded())

        let encodings: [([UInt8], ([UInt8]) throws -> Void)] = [
            (key.encoded(), { _ = try DecryptionKey(decoding: $0) }),
            (ciphertext.encoded(), { _ = try Ciphertext(decoding: $0) }),
            (authority.0.encoded(), { _ = try PublicParameters(decoding: $0) }),
            (authority.1.encoded(), { _ = try MasterSecret(decoding: $0) }),
        ]
        for (bytes, decode) in encodings {
            for length in stride(from: 0, to: bytes.count, by: 7) {
                #expect(throws: (any Error).self) { try decode(Array(bytes.prefix(length))) }
            }
            #expect(throws: BinaryDecodingError.self) { try decode(bytes + [0]) }
            var version = bytes
            version[4] = 2
            #expect(throws: BinaryDecodingError.unsupportedVersion(2)) { try decode(version) }
        }
        // C0 replaced by a valid-looking but off-curve x: refused as a group element.
        // C0 is the 96 bytes before the u32 payload length; the sealed payload is 3 + 16 bytes.
        var badPoint = ciphertext.encoded()
        let c0Start = badPoint.count - (3 + 16) - 4 - 96
        badPoint.replaceSubrange(c0Start..<c0Start + 96, with: [0xA0] + [UInt8](repeating: 0, count: 95))
        #expect(throws: KPABEError.invalidGroupElement(field: "C0")) { try Ciphertext(decoding: badPoint) }
        // Attributes out of order.
        let twoAttributes = try KPABE.encrypt([0], attributes: ["a", "b"], to: authority.0).encoded()
        var swapped = twoAttributes
        swapped[4 + 1 + 16 + 2 + 2] = UInt8(ascii: "b")
        swapped[4 + 1 + 16 + 2 + 2 + 1 + 48 + 2] = UInt8(ascii: "a")
        #expect(throws: BinaryDecodingError.self) { try Ciphertext(decoding: swapped) }
    }

    @Test("encrypt refuses empty attribute sets and invalid attributes")
    func encryptValidation() {
        #expect(throws: KPABEError.noAttributes) { try KPABE.encrypt([1], attributes: [String](), to: authority.0) }
        #expect(throws: KPABEError.invalidAttribute("")) { try KPABE.encrypt([1], attributes: [""], to: authority.0) }
    }
}

/// A copy of `key` whose leaf `leaf` carries `donor`'s components for its leaf `donorLeaf`, made through
/// the public encoding (as an attacker holding both keys would).
func splice(_ key: DecryptionKey, leaf: Int, from donor: DecryptionKey, leaf donorLeaf: Int) throws -> DecryptionKey {
    let componentSize = 48 + 96
    func componentRange(_ encoded: [UInt8], _ policy: Policy, _ target: Int) -> Range<Int> {
        // Leaf records are `00 | u16 len | name | D | d`; walk the encoding to the target leaf.
        var offset = 4 + 1 + 16, seen = 0
        while offset < encoded.count {
            if encoded[offset] == 1 { offset += 5; continue }
            let length = Int(encoded[offset + 1]) << 8 | Int(encoded[offset + 2])
            let start = offset + 3 + length
            if seen == target { return start..<start + componentSize }
            seen += 1
            offset = start + componentSize
        }
        fatalError("leaf \(target) not found")
    }
    var bytes = key.encoded()
    let donorBytes = donor.encoded()
    bytes.replaceSubrange(componentRange(bytes, key.policy, leaf),
                          with: donorBytes[componentRange(donorBytes, donor.policy, donorLeaf)])
    return try DecryptionKey(decoding: bytes)
}
