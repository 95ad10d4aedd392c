import Crypto
import CryptoExtras
import Foundation

/// Why an OPRF step was refused.
public enum OPRFError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A key that is not an RSA key of 2048 to 4096 bits with exponent 65537.
    case invalidKey(String)
    /// A blinded element or evaluation of the wrong size or out of range.
    case malformedElement
    /// The evaluation is not a valid signature under the pinned key: forged, replayed for another
    /// input, or from another key.
    case invalidEvaluation

    public var description: String {
        switch self {
        case .invalidKey(let reason): "invalid key-server key: \(reason)"
        case .malformedElement: "a blinded element or evaluation has the wrong size or is out of range"
        case .invalidEvaluation: "the key server's answer does not verify under its pinned public key"
        }
    }
}

typealias BlindRSA = _RSA.BlindSigning
let oprfParameters = BlindRSA.Parameters<SHA384>.RSABSSA_SHA384_PSSZERO_Deterministic

/// The key server's public key: what clients pin and check every answer against.
public struct OPRFPublicKey: Sendable, Equatable {
    let key: BlindRSA.PublicKey<SHA384>
    /// SubjectPublicKeyInfo DER.
    public let derRepresentation: Data
    /// `SHA-256(derRepresentation)`: names the key in answers and in the output.
    public let id: [UInt8]
    /// The modulus length in bytes: the size of every blinded element and evaluation.
    public let elementSize: Int

    /// Decodes and validates a published key: RSA, 2048 to 4096 bits, e = 65537 (a well-formed key
    /// is what makes the deterministic signature unique, RFC 9474 §7.3).
    public init(derRepresentation: some DataProtocol) throws(OPRFError) {
        let der = Data(derRepresentation)
        guard let key = try? BlindRSA.PublicKey<SHA384>(derRepresentation: der, parameters: oprfParameters) else {
            throw .invalidKey("not an RSA public key")
        }
        guard (2048...4096).contains(key.keySizeInBits), key.keySizeInBits % 8 == 0 else {
            throw .invalidKey("\(key.keySizeInBits) bits")
        }
        guard let exponent = try? key.getKeyPrimitives().publicExponent,
              exponent.drop(while: { $0 == 0 }).elementsEqual([0x01, 0x00, 0x01]) else {
            throw .invalidKey("public exponent is not 65537")
        }
        self.key = key
        self.derRepresentation = key.derRepresentation
        self.id = Array(SHA256.hash(data: key.derRepresentation))
        self.elementSize = key.keySizeInBits / 8
    }

    public static func == (lhs: OPRFPublicKey, rhs: OPRFPublicKey) -> Bool { lhs.derRepresentation == rhs.derRepresentation }

    /// Blinds `message` for evaluation. The result stays with the caller until `finalize`.
    public func blind(_ message: [UInt8]) throws(OPRFError) -> OPRFBlindedInput {
        let prepared = key.prepare(message)
        guard let blinding = try? key.blind(prepared) else { throw .malformedElement }
        return OPRFBlindedInput(message: message, prepared: prepared, blinding: blinding)
    }

    /// Unblinds the server's evaluation, checks it is the signature of the input's message under
    /// this key, and returns the PRF output.
    public func finalize(_ evaluation: [UInt8], for input: OPRFBlindedInput) throws(OPRFError) -> SymmetricKey {
        guard evaluation.count == elementSize else { throw .malformedElement }
        // RFC 9474 §4.4 Finalize verifies the unblinded signature (step 5) and fails otherwise.
        guard let signature = try? key.finalize(BlindRSA.BlindSignature(rawRepresentation: evaluation), for: input.prepared,
                                                blindingInverse: input.blinding.inverse) else {
            throw .invalidEvaluation
        }
        return output(signature: Array(signature.rawRepresentation))
    }

    /// `SHA-256("twin.oprf-output.v1" ‖ id ‖ signature)`.
    func output(signature: [UInt8]) -> SymmetricKey {
        var hasher = SHA256()
        hasher.update(data: Array("twin.oprf-output.v1".utf8))
        hasher.update(data: id)
        hasher.update(data: signature)
        return SymmetricKey(data: Array(hasher.finalize()))
    }
}

/// A message blinded for one evaluation, with what unblinds the answer. Never leaves the client.
public struct OPRFBlindedInput {
    let message: [UInt8]
    let prepared: BlindRSA.PreparedMessage
    let blinding: BlindRSA.BlindingResult

    /// What is sent to the key server: the blinded message, the modulus size.
    public var blindedElement: [UInt8] { Array(blinding.blindedMessage) }
}

/// The key server's secret key. Its file is the PKCS#8 PEM of the RSA key (mode 0600).
public struct OPRFPrivateKey: Sendable {
    let key: BlindRSA.PrivateKey<SHA384>
    public let publicKey: OPRFPublicKey

    /// A fresh RSA-2048 key.
    public static func generate() throws -> OPRFPrivateKey {
        try OPRFPrivateKey(BlindRSA.PrivateKey<SHA384>(keySize: .bits2048, parameters: oprfParameters))
    }

    public init(pemRepresentation: String) throws(OPRFError) {
        guard let key = try? BlindRSA.PrivateKey<SHA384>(pemRepresentation: pemRepresentation, parameters: oprfParameters) else {
            throw .invalidKey("not an RSA private key in PEM")
        }
        try self.init(key)
    }

    init(_ key: BlindRSA.PrivateKey<SHA384>) throws(OPRFError) {
        self.key = key
        publicKey = try OPRFPublicKey(derRepresentation: key.publicKey.derRepresentation)
    }

    public var pemRepresentation: String { key.pkcs8PEMRepresentation }

    /// Evaluates one blinded element (an RSA private operation on it). Refuses anything but an
    /// element of the modulus size below the modulus.
    public func evaluate(_ blindedElement: [UInt8]) throws(OPRFError) -> [UInt8] {
        guard blindedElement.count == publicKey.elementSize,
              let signature = try? key.blindSignature(for: blindedElement) else { throw .malformedElement }
        return Array(signature.rawRepresentation)
    }

    /// The PRF output of `message` computed directly (tests and tools; the server never sees messages).
    public func output(for message: [UInt8]) throws -> SymmetricKey {
        let input = try publicKey.blind(message)
        return try publicKey.finalize(try evaluate(input.blindedElement), for: input)
    }

    /// Loads the key in `file`, or makes one there (mode 0600) if the file does not exist.
    public static func loadOrCreate(at file: URL) throws -> OPRFPrivateKey {
        if let text = try? String(contentsOf: file, encoding: .utf8) {
            let mode = (try? FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? Int) ?? 0
            guard mode & 0o077 == 0 else {
                throw OPRFError.invalidKey("\(file.path) is readable by others (mode \(String(mode, radix: 8))): chmod 600 it")
            }
            return try OPRFPrivateKey(pemRepresentation: text)
        }
        let key = try generate()
        guard FileManager.default.createFile(atPath: file.path, contents: Data(key.pemRepresentation.utf8),
                                             attributes: [.posixPermissions: 0o600]) else {
            throw OPRFError.invalidKey("cannot create \(file.path)")
        }
        return key
    }
}
