import Crypto
import Foundation
import Synchronization
import TwinProtocol

/// A user's public keys as this client trusts them: the same type the server answers with.
public typealias PeerKeys = UserResponse

extension UserResponse {
    /// SHA-256 over `"twin.fingerprint.v1"` and the name and the three keys (each length-prefixed),
    /// as 16 groups of four hex digits: what two people compare out of band.
    public var fingerprint: String {
        var hasher = SHA256()
        for field in [Data("twin.fingerprint.v1".utf8), Data(name.utf8), signingKey, agreementKey, authorityParameters] {
            hasher.update(data: withUnsafeBytes(of: UInt32(field.count).bigEndian, Array.init))
            hasher.update(data: field)
        }
        let hex = Array(hasher.finalize()).map { String(format: "%02x", $0) }.joined()
        return stride(from: 0, to: hex.count, by: 4).map { offset in
            let start = hex.index(hex.startIndex, offsetBy: offset)
            return String(hex[start..<hex.index(start, offsetBy: 4)])
        }.joined(separator: " ")
    }

    var signing: Curve25519.Signing.PublicKey {
        get throws {
            do { return try .init(rawRepresentation: signingKey) } catch {
                throw TwinClientError.integrity("\(name)'s signing key is not an Ed25519 public key")
            }
        }
    }

    var agreement: Curve25519.KeyAgreement.PublicKey {
        get throws {
            do { return try .init(rawRepresentation: agreementKey) } catch {
                throw TwinClientError.integrity("\(name)'s agreement key is not an X25519 public key")
            }
        }
    }
}

/// The peers' keys this client pinned, like SSH's known_hosts: the first keys seen for a user are
/// kept, and any later answer with other keys is refused until the user's fingerprint is checked
/// out of band and trusted again (`twin trust`). A server that swaps a grantee's key therefore
/// cannot receive a grant, and one that swaps an owner's key cannot pass off entries as theirs.
///
/// Kept in `$TWIN_HOME/known_keys.json` (mode 0600) for the command line; in memory when no file is
/// given (tests, embedding).
public final class KnownKeys: Sendable {
    private let file: URL?
    private let pinned: Mutex<[String: PeerKeys]>

    /// Pins in `file` (created on the first pin), or in memory when it is nil.
    public init(file: URL?) throws {
        self.file = file
        var loaded: [String: PeerKeys] = [:]
        if let file, let data = try? Data(contentsOf: file) {
            do { loaded = try JSONDecoder().decode([String: PeerKeys].self, from: data) } catch {
                throw TwinClientError.invalidArgument("\(file.path) is not a list of pinned keys: \(error)")
            }
        }
        pinned = Mutex(loaded)
    }

    public static func beside(keyring home: URL) throws -> KnownKeys {
        try KnownKeys(file: home.appendingPathComponent("known_keys.json"))
    }

    public func pinned(_ name: String) -> PeerKeys? { pinned.withLock { $0[name] } }

    /// `offered` if it is what was pinned for its user, pinning it when nothing was; refuses keys
    /// that differ from the pinned ones.
    @discardableResult
    public func check(_ offered: PeerKeys) throws -> PeerKeys {
        let known = try pinned.withLock { pins -> PeerKeys? in
            if let known = pins[offered.name] {
                guard known == offered else {
                    throw TwinClientError.keyChanged(user: offered.name, pinned: known.fingerprint, offered: offered.fingerprint)
                }
                return known
            }
            pins[offered.name] = offered
            return nil
        }
        if known == nil { try save() }
        return offered
    }

    /// Pins `keys` for their user, replacing any earlier pin (after an out-of-band check).
    public func trust(_ keys: PeerKeys) throws {
        pinned.withLock { $0[keys.name] = keys }
        try save()
    }

    private func save() throws {
        guard let file else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try pinned.withLock { try encoder.encode($0) }
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        guard Keyring.writeOwnerOnly(data, to: file) else { throw TwinClientError.invalidArgument("cannot write \(file.path)") }
    }
}
