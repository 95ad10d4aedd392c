import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import KPABE
import TwinProtocol

/// A user's secrets and settings, stored as `$TWIN_HOME/keyring.json` (mode 0600), sealed under a
/// passphrase (`SealedKeyring`).
///
/// Holds the Ed25519 identity key, the X25519 key that receives grants, the user's own KP-ABE
/// authority (master secret and public parameters), the key that wraps file keys for the owner, and
/// the KP-ABE keys other owners granted (cached after unsealing).
public struct Keyring: Codable, Sendable {
    public var version = 1
    public var user: String
    public var server: String
    var signingKey: Data
    var agreementKey: Data
    var authorityMaster: Data
    public var authorityParameters: Data
    var ownerWrappingKey: Data
    /// The identity of the server this keyring registered with (`GET /v1/server`), pinned when the
    /// account was made: registration and login signatures name it, and a server with another
    /// identity is refused.
    public var serverID: Data?
    /// The key server's public key (`KeyServerInfo.publicKey`), pinned on first use: a server
    /// that later publishes another is refused.
    public var keyServerKey: Data?
    /// The version of each attribute this owner wraps and grants under (`AttributeVersion`);
    /// absent: 0. Raised by revocations, so the keyring must travel with them: a keyring restored
    /// from an older backup catches up at the next `rekey`, from the versions its entries carry.
    public var attributeVersions: [String: Int]?

    public static var home: URL {
        if let path = ProcessInfo.processInfo.environment["TWIN_HOME"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".twin")
    }

    static var file: URL { home.appendingPathComponent("keyring.json") }

    /// Fresh keys for a new account.
    public static func generate(user: String, server: String) -> Keyring {
        let (parameters, master) = KPABE.setup()
        return Keyring(user: user, server: server,
                       signingKey: Curve25519.Signing.PrivateKey().rawRepresentation,
                       agreementKey: Curve25519.KeyAgreement.PrivateKey().rawRepresentation,
                       authorityMaster: Data(master.encoded()), authorityParameters: Data(parameters.encoded()),
                       ownerWrappingKey: SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) })
    }

    /// The keyring in `$TWIN_HOME`, opened with the passphrase (`Passphrase.current`). Refused if
    /// others can read the file. A keyring from before sealing (plain JSON) is sealed in place.
    public static func load() throws -> Keyring {
        try load(from: file, passphrase: Passphrase.current())
    }

    static func load(from file: URL, passphrase: String) throws -> Keyring {
        guard let data = try? Data(contentsOf: file) else { throw TwinClientError.noKeyring(file.path) }
        let mode = (try? FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? Int) ?? 0
        guard mode & 0o077 == 0 else {
            throw TwinClientError.invalidArgument("\(file.path) is readable by others (mode \(String(mode, radix: 8))): run chmod 600 on it")
        }
        if let plain = try? JSONDecoder().decode(Keyring.self, from: data) {
            try plain.save(to: file, passphrase: passphrase, overwrite: true)
            return plain
        }
        return try JSONDecoder().decode(Keyring.self, from: try SealedKeyring.open(data, passphrase: passphrase, file: file))
    }

    /// Seals with the passphrase (`Passphrase.current`) and writes atomically with owner-only
    /// permissions; refuses to overwrite an existing keyring unless told to.
    public func save(overwrite: Bool = false) throws {
        try FileManager.default.createDirectory(at: Self.home, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        try save(to: Self.file, passphrase: Passphrase.current(), overwrite: overwrite)
    }

    func save(to file: URL, passphrase: String, overwrite: Bool) throws {
        if !overwrite, FileManager.default.fileExists(atPath: file.path) {
            throw TwinClientError.keyringExists(file.path)
        }
        let sealed = try SealedKeyring.seal(try JSONEncoder().encode(self), passphrase: passphrase)
        guard Self.writeOwnerOnly(sealed, to: file) else {
            throw TwinClientError.invalidArgument("cannot write \(file.path)")
        }
    }

    /// Writes `keyring`'s attribute versions into the saved keyring (and nothing else of it: a
    /// session may run against another node than the one saved).
    public static func saveAttributeVersions(of keyring: Keyring) throws {
        var saved = try load()
        saved.attributeVersions = keyring.attributeVersions
        try saved.save(overwrite: true)
    }

    /// Copies the sealed keyring to `destination` (a backup, still sealed under the passphrase),
    /// after checking that it opens.
    public static func export(to destination: URL) throws {
        try export(from: file, to: destination, passphrase: Passphrase.current())
    }

    static func export(from source: URL, to destination: URL, passphrase: String) throws {
        try load(from: source, passphrase: passphrase).save(to: destination, passphrase: passphrase, overwrite: false)
    }

    /// Restores a keyring from a backup made by `export`, if it opens with the passphrase; refuses
    /// to replace a keyring already in `$TWIN_HOME`.
    public static func restore(from backup: URL) throws -> Keyring {
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return try restore(from: backup, to: file, passphrase: Passphrase.current())
    }

    static func restore(from backup: URL, to destination: URL, passphrase: String) throws -> Keyring {
        guard let data = try? Data(contentsOf: backup) else { throw TwinClientError.noKeyring(backup.path) }
        let keyring = try JSONDecoder().decode(Keyring.self, from: try SealedKeyring.open(data, passphrase: passphrase, file: backup))
        try keyring.save(to: destination, passphrase: passphrase, overwrite: false)
        return keyring
    }

    /// Replaces `file` atomically (a temporary file beside it, renamed) with `data`, readable by the
    /// owner alone; false when it could not, leaving no temporary behind.
    static func writeOwnerOnly(_ data: Data, to file: URL) -> Bool {
        let temporary = file.deletingLastPathComponent().appendingPathComponent(".\(file.lastPathComponent).\(UUID().uuidString)")
        guard FileManager.default.createFile(atPath: temporary.path, contents: data, attributes: [.posixPermissions: 0o600]),
              rename(temporary.path, file.path) == 0 else {
            try? FileManager.default.removeItem(at: temporary)
            return false
        }
        return true
    }

    /// Removes the keyring (after a registration the server refused).
    static func remove() { try? FileManager.default.removeItem(at: file) }

    var signing: Curve25519.Signing.PrivateKey { try! .init(rawRepresentation: signingKey) }
    var agreement: Curve25519.KeyAgreement.PrivateKey { try! .init(rawRepresentation: agreementKey) }
    var master: MasterSecret { get throws { try MasterSecret(decoding: Array(authorityMaster)) } }
    public var signingPublicKey: Data { signing.publicKey.rawRepresentation }
    public var agreementPublicKey: Data { agreement.publicKey.rawRepresentation }
    /// This user's public keys, as peers pin them.
    public var publicKeys: PeerKeys {
        PeerKeys(name: user, signingKey: signingPublicKey, agreementKey: agreementPublicKey, authorityParameters: authorityParameters)
    }

    // MARK: Attribute versions

    /// The capsule attributes that wrap an entry with `attributes` now.
    func capsuleAttributes(_ attributes: [String]) -> [String] {
        attributes.map { AttributeVersion.versioned($0, attributeVersions?[$0] ?? 0) }.sorted()
    }

    /// The policy of a key granted now for `policy` (plain attributes): each leaf at its version.
    func versionedPolicy(_ policy: Policy) -> Policy {
        policy.renamingAttributes { AttributeVersion.versioned($0, attributeVersions?[$0] ?? 0) }
    }

    /// Raises `attribute`'s version by one; returns the new version.
    mutating func raiseVersion(of attribute: String) -> Int {
        let raised = (attributeVersions?[attribute] ?? 0) + 1
        attributeVersions = (attributeVersions ?? [:]).merging([attribute: raised]) { _, new in new }
        return raised
    }

    /// Takes up versions seen elsewhere (in the owner's own capsules), keeping the higher of each;
    /// returns whether any was raised.
    mutating func catchUp(to seen: [String: Int]) -> Bool {
        var versions = attributeVersions ?? [:]
        var raised = false
        for (attribute, version) in seen where version > versions[attribute] ?? 0 {
            versions[attribute] = version
            raised = true
        }
        if raised { attributeVersions = versions }
        return raised
    }

    // MARK: Owner's own copy of file keys

    /// `nonce(12) || AES-256-GCM(ownerWrappingKey, K_M, aad: "twin.owner-wrap.v2" || u32 len || name || T_M)`:
    /// the owner reads their own images without their ABE key, and a wrap moved to another name or
    /// file does not open.
    func wrapForOwner(_ fileKey: SymmetricKey, name: String, fileTag: [UInt8]) -> Data {
        let box = try! AES.GCM.seal(fileKey.withUnsafeBytes { Data($0) }, using: SymmetricKey(data: ownerWrappingKey),
                                    authenticating: Self.ownerWrapAAD(name: name, fileTag: fileTag))
        return box.combined!
    }

    func unwrapForOwner(_ wrapped: Data, name: String, fileTag: [UInt8]) throws -> SymmetricKey {
        guard let box = try? AES.GCM.SealedBox(combined: wrapped),
              let key = try? AES.GCM.open(box, using: SymmetricKey(data: ownerWrappingKey),
                                          authenticating: Self.ownerWrapAAD(name: name, fileTag: fileTag))
        else { throw TwinClientError.integrity("the owner's wrapped file key does not open") }
        return SymmetricKey(data: key)
    }

    static func ownerWrapAAD(name: String, fileTag: [UInt8]) -> Data {
        Data(TwinProtocol.framed("twin.owner-wrap.v2", [Array(name.utf8)]) + fileTag)
    }

    // MARK: Grants (HPKE Auth mode, RFC 9180 §5.1.3: X25519, HKDF-SHA256, ChaCha20-Poly1305)

    /// Binds a grant to both parties, the policy, and the owner's authority: a grant opens only for
    /// the grantee, only as sent by the owner's pinned X25519 key, and only with the policy and
    /// authority it was issued for.
    static func grantInfo(owner: String, grantee: String, policy: String, authorityParameters: Data) -> Data {
        Data(TwinProtocol.framed("twin.grant.v2", [Array(owner.utf8), Array(grantee.utf8), Array(policy.utf8),
                                                   Array(SHA256.hash(data: authorityParameters))]))
    }

    /// Seals a KP-ABE key for `policy` to `grantee`'s X25519 key, authenticated by this user's own
    /// X25519 key: `encapsulated key (32) || ciphertext`.
    func sealGrant(_ key: DecryptionKey, policy: String, to grantee: PeerKeys) throws -> Data {
        var sender = try HPKE.Sender(recipientKey: try grantee.agreement, ciphersuite: .Curve25519_SHA256_ChachaPoly,
                                     info: Self.grantInfo(owner: user, grantee: grantee.name, policy: policy,
                                                          authorityParameters: authorityParameters),
                                     authenticatedBy: agreement)
        return sender.encapsulatedKey + (try sender.seal(key.encoded()))
    }

    /// Opens a grant `owner` (as pinned) issued to this user for `policy`.
    func openGrant(_ sealed: Data, from owner: PeerKeys, policy: String) throws -> DecryptionKey {
        guard sealed.count > 32 else { throw TwinClientError.integrity("grant from \(owner.name) is truncated") }
        let key: DecryptionKey
        do {
            var recipient = try HPKE.Recipient(privateKey: agreement, ciphersuite: .Curve25519_SHA256_ChachaPoly,
                                               info: Self.grantInfo(owner: owner.name, grantee: user, policy: policy,
                                                                    authorityParameters: owner.authorityParameters),
                                               encapsulatedKey: sealed.prefix(32), authenticatedBy: try owner.agreement)
            key = try DecryptionKey(decoding: Array(try recipient.open(sealed.dropFirst(32))))
        } catch {
            throw TwinClientError.integrity("the grant from \(owner.name) does not open: not sealed by \(owner.name)'s pinned key for this policy")
        }
        // The key is for the stated policy, at whatever attribute versions the owner is at.
        guard let stated = try? PolicyParser.parse(policy),
              key.policy.renamingAttributes({ AttributeVersion.parse($0)?.attribute ?? "#" }) == stated else {
            throw TwinClientError.integrity("the grant from \(owner.name) holds a key for another policy than '\(policy)'")
        }
        return key
    }
}
