import Crypto
import CryptoExtras
import Foundation
import Testing
@testable import TwinOPRF

/// The server-aided key OPRF: RFC 9474's known answer, determinism, and refusals.
@Suite("OPRF (RSA blind signatures)")
struct OPRFTests {
    struct Vector: Decodable {
        var n: String, e: String, d: String, p: String, q: String, msg: String
        var blinded_msg: String, blind_sig: String, sig: String
    }

    static func hex(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            bytes.append(UInt8(text[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }

    @Test("RFC 9474 Appendix A vector 4 (PSSZERO-Deterministic): the blind signature, and the signature it finalizes to")
    func knownAnswer() throws {
        let url = try #require(Bundle.module.url(forResource: "rfc9474-psszero-deterministic", withExtension: "json", subdirectory: "Resources"))
        let vector = try JSONDecoder().decode(Vector.self, from: Data(contentsOf: url))
        let key = try _RSA.BlindSigning.PrivateKey<SHA384>(n: Self.hex(vector.n), e: Self.hex(vector.e), d: Self.hex(vector.d),
                                                           p: Self.hex(vector.p), q: Self.hex(vector.q), parameters: oprfParameters)
        let server = try OPRFPrivateKey(key)
        #expect(server.publicKey.elementSize == 512)
        #expect(try server.evaluate(Self.hex(vector.blinded_msg)) == Self.hex(vector.blind_sig))
        // The published signature is the unique one for the message: any blinding finalizes to it.
        let input = try server.publicKey.blind(Self.hex(vector.msg))
        let output = try server.publicKey.finalize(try server.evaluate(input.blindedElement), for: input)
        #expect(output == server.publicKey.output(signature: Self.hex(vector.sig)))
    }

    @Test("deterministic under fresh blindings; different messages and keys give different outputs")
    func deterministic() throws {
        let server = try OPRFPrivateKey.generate()
        let message = Array("twin.key-unit.v1 payload".utf8)
        let first = try server.output(for: message)
        let second = try server.output(for: message)
        #expect(first == second)
        #expect(try server.output(for: message + [0]) != first)
        #expect(try OPRFPrivateKey.generate().output(for: message) != first)
        let a = try server.publicKey.blind(message), b = try server.publicKey.blind(message)
        #expect(a.blindedElement != b.blindedElement, "the server sees unlinkable elements")
    }

    @Test("a forged, replayed, truncated or other key's answer is refused")
    func refusals() throws {
        let server = try OPRFPrivateKey.generate(), other = try OPRFPrivateKey.generate()
        let input = try server.publicKey.blind(Array("one".utf8))
        let answer = try server.evaluate(input.blindedElement)
        // Another key's answer: to its own blinding of the message (the element for this key may
        // not even be below the other modulus, which that key refuses).
        let foreignInput = try other.publicKey.blind(Array("one".utf8))
        #expect(throws: OPRFError.invalidEvaluation) {
            try server.publicKey.finalize(try other.evaluate(foreignInput.blindedElement), for: input)
        }
        if let foreign = try? other.evaluate(input.blindedElement) {
            #expect(throws: OPRFError.invalidEvaluation) { try server.publicKey.finalize(foreign, for: input) }
        }
        // An answer to another input, replayed.
        let another = try server.publicKey.blind(Array("two".utf8))
        #expect(throws: OPRFError.invalidEvaluation) {
            try server.publicKey.finalize(try server.evaluate(another.blindedElement), for: input)
        }
        var flipped = answer
        flipped[100] ^= 1
        #expect(throws: OPRFError.invalidEvaluation) { try server.publicKey.finalize(flipped, for: input) }
        #expect(throws: OPRFError.malformedElement) { try server.publicKey.finalize(Array(answer.dropLast()), for: input) }
        // The server refuses elements of the wrong size or not below the modulus.
        #expect(throws: OPRFError.malformedElement) { try server.evaluate(Array(input.blindedElement.dropLast())) }
        #expect(throws: OPRFError.malformedElement) { try server.evaluate([UInt8](repeating: 0xff, count: 256)) }
        #expect(try server.publicKey.finalize(answer, for: input) == server.output(for: Array("one".utf8)))
    }

    @Test("public keys are validated; the key file is made once, owner-only, and refused when others can read it")
    func keys() throws {
        #expect(throws: OPRFError.self) { try OPRFPublicKey(derRepresentation: Data([1, 2, 3])) }
        let small = try _RSA.BlindSigning.PrivateKey<SHA384>(unsafeKeySize: .init(bitCount: 1024), parameters: oprfParameters)
        #expect(throws: OPRFError.self) { try OPRFPublicKey(derRepresentation: small.publicKey.derRepresentation) }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("twin-oprf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("oprf.pem")
        let made = try OPRFPrivateKey.loadOrCreate(at: file)
        #expect(try OPRFPrivateKey.loadOrCreate(at: file).publicKey == made.publicKey)
        #expect((try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? Int) == 0o600)
        chmod(file.path, 0o644)
        #expect(throws: OPRFError.self) { try OPRFPrivateKey.loadOrCreate(at: file) }
    }
}
