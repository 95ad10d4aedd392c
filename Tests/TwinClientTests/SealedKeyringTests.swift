import CKernelKeyring
import Foundation
import Testing
@testable import TwinClient

/// The keyring at rest: sealed under a passphrase, refused when readable by others, portable.
@Suite("Sealed keyring")
struct SealedKeyringTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("twin-keyring-\(UUID().uuidString)")
    var file: URL { directory.appendingPathComponent("keyring.json") }

    init() throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        setenv("TWIN_KEYRING_SCRYPT_N", "16384", 1)
    }

    @Test("unreadable without its passphrase: no key in the file, a wrong passphrase and a tampered header refused")
    func sealed() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        var keyring = Keyring.generate(user: "alice", server: "http://a")
        keyring.serverID = Data(repeating: 9, count: 32)
        try keyring.save(to: file, passphrase: "correct horse", overwrite: false)
        let bytes = try Data(contentsOf: file)
        for secret in [keyring.signingKey, keyring.agreementKey, keyring.ownerWrappingKey, keyring.authorityMaster] {
            #expect(bytes.range(of: secret) == nil && bytes.range(of: Data(secret.base64EncodedString().utf8)) == nil)
        }
        #expect(bytes.range(of: Data("alice".utf8)) == nil, "not even the user name")
        let opened = try Keyring.load(from: file, passphrase: "correct horse")
        #expect(opened.signingKey == keyring.signingKey && opened.serverID == keyring.serverID && opened.user == "alice")
        #expect(throws: TwinClientError.self) { try Keyring.load(from: file, passphrase: "correct horse!") }
        // A lowered cost written over the real one: the header is authenticated.
        let text = String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "\"n\" : 16384", with: "\"n\" : 32768")
        #expect(text != String(decoding: bytes, as: UTF8.self))
        _ = Keyring.writeOwnerOnly(Data(text.utf8), to: file)
        #expect(throws: TwinClientError.self) { try Keyring.load(from: file, passphrase: "correct horse") }
        // Refused before a save would replace it.
        #expect(throws: TwinClientError.self) { try keyring.save(to: file, passphrase: "x", overwrite: false) }
    }

    /// Whether this kernel (and sandbox) keeps keys for the cache.
    static let kernelKeysWork: Bool = {
        let name = "twin-test:probe-\(UUID().uuidString)"
        guard twin_kernel_key_store(name, "probe", 5, 5) == 0 else { return false }
        var buffer = [UInt8](repeating: 0, count: 8)
        return buffer.withUnsafeMutableBytes { twin_kernel_key_read(name, $0.baseAddress, $0.count) } == 5
    }()

    @Test("the derived key is cached in the kernel under a name bound to passphrase and salt; a poisoned entry is not trusted",
          .enabled(if: SealedKeyringTests.kernelKeysWork, "the kernel keyring is not available here"))
    func derivedKeyCache() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let keyring = Keyring.generate(user: "carol", server: "http://a")
        try keyring.save(to: file, passphrase: "tr0ubador", overwrite: false)
        let kdf = try JSONDecoder().decode(SealedKeyring.self, from: Data(contentsOf: file)).kdf
        #expect(DerivedKeyCache.load(passphrase: "tr0ubador", kdf: kdf) != nil, "sealing leaves the key in the cache")
        #expect(DerivedKeyCache.load(passphrase: "tr0ubador!", kdf: kdf) == nil, "another passphrase has another name")
        var otherSalt = kdf
        otherSalt.salt = Data(repeating: 1, count: 16)
        #expect(DerivedKeyCache.load(passphrase: "tr0ubador", kdf: otherSalt) == nil, "another file has another name")
        #expect(try Keyring.load(from: file, passphrase: "tr0ubador").signingKey == keyring.signingKey)
        #expect(throws: TwinClientError.self) { try Keyring.load(from: file, passphrase: "tr0ubador!") }
        // Another process of this user overwrites the entry: the file still opens (scrypt decides),
        // and the entry is repaired.
        let name = DerivedKeyCache.name(passphrase: "tr0ubador", kdf: kdf)
        #expect(twin_kernel_key_store(name, [UInt8](repeating: 0xAB, count: 32), 32, 60) == 0)
        #expect(try Keyring.load(from: file, passphrase: "tr0ubador").signingKey == keyring.signingKey)
        let repaired = try #require(DerivedKeyCache.load(passphrase: "tr0ubador", kdf: kdf))
        #expect(repaired.withUnsafeBytes { Array($0) } != [UInt8](repeating: 0xAB, count: 32))
    }

    @Test("refused when others can read it; a plaintext keyring from before sealing is sealed on load")
    func permissionsAndMigration() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let keyring = Keyring.generate(user: "bob", server: "http://a")
        #expect(Keyring.writeOwnerOnly(try JSONEncoder().encode(keyring), to: file))
        chmod(file.path, 0o644)
        #expect(throws: TwinClientError.self) { try Keyring.load(from: file, passphrase: "p") }
        chmod(file.path, 0o600)
        #expect(try Keyring.load(from: file, passphrase: "p").signingKey == keyring.signingKey)
        #expect(try Data(contentsOf: file).range(of: Data(keyring.signingKey.base64EncodedString().utf8)) == nil, "sealed in place")
        #expect(try Keyring.load(from: file, passphrase: "p").signingKey == keyring.signingKey)
    }

    @Test("export and import round-trip the keyring; an import with the wrong passphrase writes nothing")
    func exportImport() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let keyring = Keyring.generate(user: "carol", server: "http://a")
        try keyring.save(to: file, passphrase: "pass", overwrite: false)
        let backup = directory.appendingPathComponent("backup.json")
        try Keyring.export(from: file, to: backup, passphrase: "pass")
        let restoredFile = directory.appendingPathComponent("restored.json")
        #expect(throws: TwinClientError.self) { _ = try Keyring.restore(from: backup, to: restoredFile, passphrase: "wrong") }
        #expect(!FileManager.default.fileExists(atPath: restoredFile.path))
        let restored = try Keyring.restore(from: backup, to: restoredFile, passphrase: "pass")
        #expect(restored.signingKey == keyring.signingKey && restored.authorityMaster == keyring.authorityMaster)
        #expect(try Keyring.load(from: restoredFile, passphrase: "pass").ownerWrappingKey == keyring.ownerWrappingKey)
        #expect(throws: TwinClientError.self) { _ = try Keyring.restore(from: backup, to: restoredFile, passphrase: "pass") }
    }
}
