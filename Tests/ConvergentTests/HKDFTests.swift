import BinaryCoding
@testable import Convergent
import Crypto
import Foundation
import TestSupport
import Testing

/// The pipeline's own HKDF-SHA256 against RFC 5869's SHA-256 test cases and, on seeded random inputs,
/// against swift-crypto's `HKDF<SHA256>` and `HMAC<SHA256>`, which it replaces for speed only.
struct HKDFTests {
    struct RFC5869Case: CustomTestStringConvertible, Sendable {
        var name: String
        var ikm: String
        var salt: String
        var info: String
        var length: Int
        var prk: String
        var okm: String
        var testDescription: String { name }
    }

    /// RFC 5869 Appendix A.1–A.3 (A.2's salt is longer than a block, so the HMAC key is hashed first).
    static let rfc5869: [RFC5869Case] = [
        RFC5869Case(name: "A.1 basic", ikm: String(repeating: "0b", count: 22),
                    salt: "000102030405060708090a0b0c", info: "f0f1f2f3f4f5f6f7f8f9", length: 42,
                    prk: "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
                    okm: "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"),
        RFC5869Case(name: "A.2 long inputs", ikm: hexRange(0x00..<0x50), salt: hexRange(0x60..<0xb0),
                    info: hexRange(0xb0..<0x100), length: 82,
                    prk: "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
                    okm: "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
                        + "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
                        + "cc30c58179ec3e87c14c01d5c1f3434f1d87"),
        RFC5869Case(name: "A.3 empty salt and info", ikm: String(repeating: "0b", count: 22), salt: "", info: "",
                    length: 42, prk: "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
                    okm: "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"),
    ]

    static func hexRange(_ range: Range<Int>) -> String { range.map { UInt8($0) }.hexString }

    @Test(arguments: rfc5869)
    func rfc5869Vector(_ vector: RFC5869Case) throws {
        let ikm = try #require([UInt8](hexString: vector.ikm))
        let salt = try #require([UInt8](hexString: vector.salt))
        let info = try #require([UInt8](hexString: vector.info))
        let prk = ikm.withUnsafeBytes { ikm in salt.withUnsafeBytes { HKDFSHA256.extract(salt: $0, inputKeyMaterial: ikm) } }
        #expect(prk.hex == vector.prk)
        let okm = prk.withUnsafeBytes { prk in
            info.withUnsafeBytes { HKDFSHA256.expand(pseudoRandomKey: prk, info: $0, outputByteCount: vector.length) }
        }
        #expect(okm.hexString == vector.okm)
        if salt.isEmpty {
            let derived = ikm.withUnsafeBytes { HKDFSHA256.deriveKey(inputKeyMaterial: $0, info: info, outputByteCount: vector.length) }
            #expect(derived.withUnsafeBytes { Array($0) }.hexString == vector.okm)
        }
    }

    /// Key lengths around the block size (empty, short, 32, one under, at and over 64, two blocks)
    /// and messages of any length.
    @Test func hmacMatchesSwiftCrypto() {
        var random = SplitMix64(seed: 0x4d4143)
        for keyLength in [0, 1, 31, 32, 63, 64, 65, 100, 130] {
            for _ in 0..<20 {
                let key = (0..<keyLength).map { _ in UInt8.random(in: 0...255, using: &random) }
                let message = (0..<Int.random(in: 0...300, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
                let ours = key.withUnsafeBytes { key in message.withUnsafeBytes { HMACSHA256.code(key: key, message: $0) } }
                let library = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key))
                #expect(ours.bytes == Array(library), "key \(keyLength) B, message \(message.count) B")
            }
        }
    }

    /// Every output length a chunk or manifest derivation uses (12, 32) and those that cross T blocks.
    /// (Length 0 only for ours: the library traps on it, an empty range in its loop.)
    @Test func hkdfMatchesSwiftCrypto() {
        var random = SplitMix64(seed: 0x484b4446)
        func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) } }
        let empty = bytes(32).withUnsafeBytes { prk in [UInt8]().withUnsafeBytes { HKDFSHA256.expand(pseudoRandomKey: prk, info: $0, outputByteCount: 0) } }
        #expect(empty.isEmpty)
        for length in [1, 12, 31, 32, 33, 64, 65, 100] {
            for _ in 0..<15 {
                let ikm = bytes(Int.random(in: 0...80, using: &random))
                let salt = bytes([0, 13, 32, 64, 80].randomElement(using: &random)!)
                let info = bytes(Int.random(in: 0...40, using: &random))
                let library = HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: ikm), salt: salt, info: info,
                                                     outputByteCount: length)
                let prk = ikm.withUnsafeBytes { ikm in salt.withUnsafeBytes { HKDFSHA256.extract(salt: $0, inputKeyMaterial: ikm) } }
                let ours = prk.withUnsafeBytes { prk in
                    info.withUnsafeBytes { HKDFSHA256.expand(pseudoRandomKey: prk, info: $0, outputByteCount: length) }
                }
                #expect(ours == library.withUnsafeBytes { Array($0) }, "ikm \(ikm.count) B, salt \(salt.count) B, length \(length)")
            }
        }
    }

    /// The derivations the format names still give the library's bytes: a chunk key, a nonce, a file key.
    @Test func formatDerivationsUnchanged() {
        var random = SplitMix64(seed: 0x6b6579)
        for _ in 0..<50 {
            let hash = Digest32(bytes: (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) })!
            let key = LocalKeyDerivation.key(for: hash)
            let library = HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: hash.bytes), info: Label.chunkKey,
                                                 outputByteCount: 32)
            #expect(key == library)
            // A stored chunk's synthetic nonce: HKDF-Expand(k, "twin.chunk-nonce.v2" || 0x00).
            let nonce = [UInt8]().withUnsafeBytes { ChunkCipher.chunkNonce(key: key, encoding: .stored, representation: $0) }
            let libraryNonce = HKDF<SHA256>.expand(pseudoRandomKey: key, info: Label.chunkNonce + [0], outputByteCount: 12)
            #expect(nonce.bytes == libraryNonce.withUnsafeBytes { Array($0) })
        }
        // K_M: HKDF over SHA-256("twin.file.v1" || u64 length || k_1 || … || k_n).
        let entries = (0..<3).map { index in
            let hash = Digest32(bytes: (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) })!
            return Manifest.Entry(tag: hash, key: LocalKeyDerivation.key(for: hash), length: 1000 + index)
        }
        let manifest = Manifest(mediaType: "image/png", entries: entries)
        var hasher = SHA256()
        hasher.update(data: Label.fileHash)
        withUnsafeBytes(of: UInt64(3003).bigEndian) { hasher.update(bufferPointer: $0) }
        for entry in entries { entry.key.withUnsafeBytes { hasher.update(bufferPointer: $0) } }
        let libraryFileKey = HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: hasher.finalize()),
                                                    info: Label.fileKey, outputByteCount: 32)
        #expect(manifest.fileKey() == libraryFileKey)
    }
}
