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
        guard let box = try? AES.GCM.SealedBox(combined: sealed.sealed),
              let plaintext = try? AES.GCM.open(box, using: try derive(passphrase, sealed.kdf),
                                                authenticating: associatedData(format: sealed.format, kdf: sealed.kdf)) else {
            throw TwinClientError.wrongPassphrase(file.path)
        }
        return plaintext
    }

    private static func derive(_ passphrase: String, _ kdf: KDFParameters) throws -> SymmetricKey {
        try KDF.Scrypt.deriveKey(from: Array(passphrase.utf8), salt: kdf.salt, outputByteCount: 32,
                                 rounds: kdf.n, blockSize: kdf.r, parallelism: kdf.p, maxMemory: 129 * kdf.n * kdf.r * kdf.p + (1 << 20))
    }

    private static func associatedData(format: String, kdf: KDFParameters) -> Data {
        Data("\(format)|\(kdf.name)|\(kdf.n)|\(kdf.r)|\(kdf.p)|".utf8) + kdf.salt
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
