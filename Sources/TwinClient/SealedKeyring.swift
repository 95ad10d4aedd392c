import CKernelKeyring
import Crypto
import CryptoExtras
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The keyring file: the keyring's JSON sealed with AES-256-GCM under a key that scrypt derives
/// from the user's passphrase.
///
/// `{"format": "twin.keyring.v2", "kdf": {"name": "scrypt", "n", "r", "p", "salt"}, "sealed"}`,
/// where `sealed` is `nonce (12) ‖ ciphertext ‖ tag (16)` and the associated data is the format
/// and KDF fields, so parameters cannot be swapped under a sealed keyring. scrypt with
/// N = 2^17, r = 8, p = 1 (128 MiB, about half a second here) is the strength RFC 7914 §2 and
/// OWASP's password storage guidance give for interactive use; the salt is 16 random bytes.
/// `TWIN_KEYRING_SCRYPT_N` (a power of two from 2^14 to 2^20) sets N for new seals: test and
/// benchmark scripts, which run hundreds of commands, use 2^14.
struct SealedKeyring: Codable {
    struct KDFParameters: Codable, Equatable {
        var name = "scrypt"
        var n: Int
        var r: Int
        var p: Int
        var salt: Data
    }

    static let format = "twin.keyring.v2"
    static let defaultCost = (n: 1 << 17, r: 8, p: 1)
    /// Bounds on what a file may ask for, so a tampered header cannot make loading take forever.
    static let maximumN = 1 << 20

    var format: String
    var kdf: KDFParameters
    var sealed: Data

    static func seal(_ plaintext: Data, passphrase: String) throws -> Data {
        var salt = Data(count: 16)
        salt.withUnsafeMutableBytes { bytes in
            var generator = SystemRandomNumberGenerator()
            for index in bytes.indices { bytes[index] = .random(in: .min ... .max, using: &generator) }
        }
        var n = defaultCost.n
        if let text = ProcessInfo.processInfo.environment["TWIN_KEYRING_SCRYPT_N"] {
            guard let chosen = Int(text), chosen >= 1 << 14, chosen <= maximumN, chosen & (chosen - 1) == 0 else {
                throw TwinClientError.invalidArgument("TWIN_KEYRING_SCRYPT_N is a power of two from 16384 to \(maximumN)")
            }
            n = chosen
        }
        let kdf = KDFParameters(n: n, r: defaultCost.r, p: defaultCost.p, salt: salt)
        let key = try derive(passphrase, kdf)
        let box = try AES.GCM.seal(plaintext, using: key, authenticating: associatedData(format: format, kdf: kdf))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(SealedKeyring(format: format, kdf: kdf, sealed: box.combined!))
    }

    static func open(_ data: Data, passphrase: String, file: URL) throws -> Data {
        guard let sealed = try? JSONDecoder().decode(SealedKeyring.self, from: data), sealed.format == format,
              sealed.kdf.name == "scrypt", sealed.kdf.n > 1, sealed.kdf.n <= maximumN, sealed.kdf.n & (sealed.kdf.n - 1) == 0,
              (1...32).contains(sealed.kdf.r), (1...16).contains(sealed.kdf.p), sealed.kdf.salt.count >= 16 else {
            throw TwinClientError.invalidArgument("\(file.path) is not a TwinStore keyring")
        }
        guard let box = try? AES.GCM.SealedBox(combined: sealed.sealed) else { throw TwinClientError.wrongPassphrase(file.path) }
        let associated = associatedData(format: sealed.format, kdf: sealed.kdf)
        // A cached key that does not open the file (overwritten by another process of this user) is
        // not trusted: scrypt decides, and its key replaces the cached one.
        if let cached = DerivedKeyCache.load(passphrase: passphrase, kdf: sealed.kdf),
           let plaintext = try? AES.GCM.open(box, using: cached, authenticating: associated) {
            return plaintext
        }
        guard let plaintext = try? AES.GCM.open(box, using: try derive(passphrase, sealed.kdf), authenticating: associated) else {
            throw TwinClientError.wrongPassphrase(file.path)
        }
        return plaintext
    }

    /// scrypt's key for `passphrase` under `kdf`, stored in the cache (see `DerivedKeyCache`).
    private static func derive(_ passphrase: String, _ kdf: KDFParameters) throws -> SymmetricKey {
        let key = try KDF.Scrypt.deriveKey(from: Array(passphrase.utf8), salt: kdf.salt, outputByteCount: 32,
                                           rounds: kdf.n, blockSize: kdf.r, parallelism: kdf.p, maxMemory: 129 * kdf.n * kdf.r * kdf.p + (1 << 20))
        DerivedKeyCache.store(key, passphrase: passphrase, kdf: kdf)
        return key
    }

    private static func associatedData(format: String, kdf: KDFParameters) -> Data {
        Data("\(format)|\(kdf.name)|\(kdf.n)|\(kdf.r)|\(kdf.p)|".utf8) + kdf.salt
    }
}

/// Keys scrypt derived for keyring files, kept for a while in the kernel's key retention service
/// (keyrings(7)): every `twin` command opens the keyring, and scrypt at its interactive strength
/// costs more than a small command's own work (a fifth of the CPU of an upload stream of 20 users
/// at N = 2^14). Like ssh-agent or gpg-agent, but with no process to run: the kernel holds the
/// key, readable by this user's processes only, never on disk, and drops it after
/// `TWIN_KEYRING_CACHE_SECONDS` (default 600; 0 turns the cache off) or at reboot.
///
/// An entry is found by a name bound to the passphrase and to the file's KDF parameters and salt
/// (an HMAC under the salt), so a wrong passphrase misses the cache and fails as before, and a
/// re-sealed keyring (new salt) never meets an old key. What the name reveals, a salted hash of the
/// passphrase, is available only to the same user, who can read the key itself. Where the kernel or
/// a sandbox refuses the calls, commands run scrypt every time, as without the cache.
enum DerivedKeyCache {
    static let defaultSeconds: UInt32 = 600

    static var seconds: UInt32 {
        guard let text = ProcessInfo.processInfo.environment["TWIN_KEYRING_CACHE_SECONDS"] else { return defaultSeconds }
        return UInt32(text).map { min($0, 86_400) } ?? defaultSeconds
    }

    static func name(passphrase: String, kdf: SealedKeyring.KDFParameters) -> String {
        let parameters = Data("\(kdf.name)|\(kdf.n)|\(kdf.r)|\(kdf.p)|".utf8) + Data(passphrase.utf8)
        let code = HMAC<SHA256>.authenticationCode(for: parameters, using: SymmetricKey(data: kdf.salt))
        return "twin-keyring:" + code.map { String(format: "%02x", $0) }.joined()
    }

    static func load(passphrase: String, kdf: SealedKeyring.KDFParameters) -> SymmetricKey? {
        guard seconds > 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 32)
        defer { for index in buffer.indices { buffer[index] = 0 } }
        let length = buffer.withUnsafeMutableBytes { twin_kernel_key_read(name(passphrase: passphrase, kdf: kdf), $0.baseAddress, $0.count) }
        guard length == 32 else { return nil }
        return SymmetricKey(data: buffer)
    }

    static func store(_ key: SymmetricKey, passphrase: String, kdf: SealedKeyring.KDFParameters) {
        let lifetime = seconds
        guard lifetime > 0 else { return }
        _ = key.withUnsafeBytes { twin_kernel_key_store(name(passphrase: passphrase, kdf: kdf), $0.baseAddress, $0.count, lifetime) }
    }
}

/// The passphrase that seals the keyring: `TWIN_PASSPHRASE` when set (scripts), otherwise asked
/// once per process on the terminal without echo.
public enum Passphrase {
    private static let cached = Mutex<String?>(nil)

    public static func current() throws -> String {
        if let known = cached.withLock({ $0 }) { return known }
        let passphrase: String
        if let given = ProcessInfo.processInfo.environment["TWIN_PASSPHRASE"] {
            passphrase = given
        } else {
            #if canImport(Glibc)
            guard isatty(STDIN_FILENO) == 1, let typed = getpass("TwinStore keyring passphrase: ") else {
                throw TwinClientError.invalidArgument("the keyring is sealed with a passphrase: set TWIN_PASSPHRASE or run on a terminal")
            }
            passphrase = String(cString: typed)
            #else
            throw TwinClientError.invalidArgument("set TWIN_PASSPHRASE")
            #endif
        }
        guard !passphrase.isEmpty else { throw TwinClientError.invalidArgument("the keyring passphrase is empty") }
        cached.withLock { $0 = passphrase }
        return passphrase
    }
}
