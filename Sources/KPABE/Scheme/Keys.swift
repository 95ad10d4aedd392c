import BinaryCoding
import BLS12381
import Crypto

/// Identifies an authority: random, made at setup. It names the hash-to-curve domain of the
/// authority's attributes, so keys and ciphertexts of two authorities never mix, even when they use
/// the same attribute names.
public struct AuthorityID: Sendable, Hashable, CustomStringConvertible {
    public static let byteCount = 16
    public let bytes: [UInt8]

    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == Self.byteCount else { return nil }
        self.bytes = Array(bytes)
    }

    static func random() -> AuthorityID {
        var generator = SystemRandomNumberGenerator()
        return AuthorityID(bytes: (0..<byteCount).map { _ in UInt8.random(in: .min ... .max, using: &generator) })!
    }

    public var description: String { bytes.hexString }

    /// RFC 9380 domain separation tag for this authority's attribute hash `H1`.
    var attributeDST: [UInt8] {
        Array("TWINSTORE-KPABE-V01-\(description)-BLS12381G1_XMD:SHA-256_SSWU_RO_".utf8)
    }

    /// `H1(x)`: an attribute hashed to G1 (RFC 9380, BLS12381G1_XMD:SHA-256_SSWU_RO_).
    func hash(attribute: String) -> G1Projective {
        G1Projective.hash(toCurve: Array(attribute.utf8), domainSeparationTag: attributeDST)
    }
}

/// What anyone may encrypt to: `e(g1, g2)^α` and the authority's identity (the generators are the
/// standard ones).
public struct PublicParameters: Sendable, Equatable {
    public let authority: AuthorityID
    /// `Y = e(g1, g2)^α`.
    let y: GT
}

/// The authority's secret `α`; only key generation needs it.
public struct MasterSecret: Sendable {
    public let authority: AuthorityID
    let alpha: Fr

    /// The public half, recomputed (one pairing and one exponentiation).
    public var publicParameters: PublicParameters {
        PublicParameters(authority: authority,
                         y: pairing(G1Affine.generator, G2Affine.generator).powConstantTime(alpha))
    }
}

/// A user's key: a policy and, per leaf in depth-first order, `D_j = g1^{λ_j}·H1(x_j)^{r_j}` and
/// `d_j = g2^{r_j}`.
public struct DecryptionKey: Sendable {
    public let authority: AuthorityID
    public let policy: Policy
    struct Component: Sendable {
        var d1: G1Affine  // D_j
        var d2: G2Affine  // d_j
    }
    let components: [Component]
    /// Each component's d_j with its Miller-loop lines, computed once: every decryption pairs them.
    let prepared: [G2Prepared]

    init(authority: AuthorityID, policy: Policy, components: [Component]) {
        self.authority = authority
        self.policy = policy
        self.components = components
        self.prepared = components.map { G2Prepared($0.d2) }
    }
}

/// An encrypted payload: the attribute set, `C0 = g2^s`, `C_x = H1(x)^s` per attribute, and the
/// payload sealed with AES-256-GCM under a key derived from `e(g1, g2)^{αs}`.
public struct Ciphertext: Sendable, Equatable {
    public let authority: AuthorityID
    /// Sorted by UTF-8 bytes, distinct.
    public let attributes: [String]
    let c0: G2Affine
    let attributeComponents: [G1Affine]
    let sealedPayload: [UInt8]
}

/// Why an operation was refused.
public enum KPABEError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The key's policy is not satisfied by the ciphertext's attributes.
    case policyNotSatisfied
    /// The key and the ciphertext (or master and public parameters) come from different authorities.
    case wrongAuthority
    /// The payload failed authentication: tampered ciphertext, or mixed-up key components.
    case decryptionFailed
    case noAttributes
    case invalidAttribute(String)
    /// A group element failed decoding (flags, range, curve, subgroup) or is the identity.
    case invalidGroupElement(field: String)

    public var description: String {
        switch self {
        case .policyNotSatisfied: "the key's policy is not satisfied by the ciphertext's attributes"
        case .wrongAuthority: "the key belongs to a different authority than the ciphertext"
        case .decryptionFailed: "decryption failed: the ciphertext was tampered with or the key is corrupt"
        case .noAttributes: "a ciphertext needs at least one attribute"
        case .invalidAttribute(let name): "invalid attribute \"\(name)\""
        case .invalidGroupElement(let field): "invalid group element in \(field)"
        }
    }
}
