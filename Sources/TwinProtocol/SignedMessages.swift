import Convergent
import Crypto
import Foundation

/// The exact bytes a user's Ed25519 identity key signs. Every message starts with a label naming
/// its role and version and length-prefixes each variable field (32-bit big-endian), so no message
/// of one kind can be read as another, and each names the server it is for where a relay matters.
extension TwinProtocol {
    /// What a new user signs to prove they hold the signing key they register, at the server whose
    /// identity (`ServerInfoResponse.id`) is `server`.
    public static func registrationMessage(server: [UInt8], name: String, signingKey: [UInt8], agreementKey: [UInt8],
                                           authorityParameters: [UInt8]) -> [UInt8] {
        framed("twin.register.v2", [server, Array(name.utf8), signingKey, agreementKey, authorityParameters])
    }

    /// What a user signs to log in: the server's nonce, bound to the user and to the server's
    /// identity, so that a server the same identity logs into cannot relay another server's nonce.
    public static func loginMessage(server: [UInt8], user: String, nonce: [UInt8]) -> [UInt8] {
        framed("twin.login.v2", [server, Array(user.utf8), nonce])
    }

    /// `label ‖ (u32 length ‖ field)…`: the framing of every signed or bound message.
    public static func framed(_ label: String, _ fields: [[UInt8]]) -> [UInt8] {
        var message = Array(label.utf8)
        for field in fields { message += withUnsafeBytes(of: UInt32(field.count).bigEndian, Array.init) + field }
        return message
    }
}

/// An owner's signature over one entry: who made it, its name, the file (`T_M`), the attributes
/// its key is wrapped under, that wrapped key, what it claims to be, and a version.
///
/// Readers check it against the owner's pinned signing key, so a server (which holds every
/// owner's public KP-ABE parameters and can wrap any key under any attributes) cannot serve one
/// image under another's name, move an entry between names or owners, or alter what it claims.
/// The owner's own wrap of `K_M` is not covered: it is an AEAD under the owner's key whose
/// associated data names the entry and `T_M` already.
///
/// Encoding (72 bytes): `version (u64 big-endian) ‖ Ed25519 signature (64)`. The version is the
/// owner's clock in milliseconds when sealing, so a later seal of the same name is the newer one.
public struct EntrySeal: Sendable, Equatable {
    public static let encodedSize = 72
    public var version: UInt64
    public var signature: [UInt8]

    /// The fields an entry seal covers (an entry as committed and as read back).
    public struct Fields: Sendable {
        public var owner: String
        public var name: String
        public var fileTag: Tag
        public var attributes: [String]
        public var attributeWrappedKey: [UInt8]
        public var mediaType: String
        public var size: Int

        public init(owner: String, name: String, fileTag: Tag, attributes: [String], attributeWrappedKey: [UInt8],
                    mediaType: String, size: Int) {
            self.owner = owner
            self.name = name
            self.fileTag = fileTag
            self.attributes = attributes
            self.attributeWrappedKey = attributeWrappedKey
            self.mediaType = mediaType
            self.size = size
        }

        /// `"twin.entry.v1"`, then each field framed: owner, name, `T_M`, the attribute count and
        /// each attribute, SHA-256 of the attribute-wrapped key, media type, size, version.
        func message(version: UInt64) -> [UInt8] {
            var fields = [Array(owner.utf8), Array(name.utf8), fileTag.bytes,
                          withUnsafeBytes(of: UInt32(attributes.count).bigEndian, Array.init)]
            fields += attributes.map { Array($0.utf8) }
            fields += [Array(SHA256.hash(data: attributeWrappedKey)), Array(mediaType.utf8),
                       withUnsafeBytes(of: UInt64(max(0, size)).bigEndian, Array.init),
                       withUnsafeBytes(of: version.bigEndian, Array.init)]
            return TwinProtocol.framed("twin.entry.v1", fields)
        }
    }

    public init(version: UInt64, signature: [UInt8]) {
        self.version = version
        self.signature = signature
    }

    /// Signs `fields` with the owner's identity key.
    public init(sealing fields: Fields, version: UInt64, with key: Curve25519.Signing.PrivateKey) throws {
        self.init(version: version, signature: Array(try key.signature(for: fields.message(version: version))))
    }

    /// The seal encoded as `bytes`, or nil unless it is exactly 72 bytes.
    public init?(decoding bytes: some Collection<UInt8>) {
        let bytes = Array(bytes)
        guard bytes.count == Self.encodedSize else { return nil }
        version = bytes.prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
        signature = Array(bytes.suffix(64))
    }

    public func encoded() -> [UInt8] { withUnsafeBytes(of: version.bigEndian, Array.init) + signature }

    /// Whether the owner whose signing key is `ownerKey` sealed exactly `fields`.
    public func isValid(for fields: Fields, ownerKey: Curve25519.Signing.PublicKey) -> Bool {
        ownerKey.isValidSignature(signature, for: fields.message(version: version))
    }
}
