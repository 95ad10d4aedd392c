import Crypto
import Foundation

/// Why decryption refused content. A reader never gets bytes that failed any of these checks.
public enum IntegrityError: Error, Equatable, Sendable {
    /// The ciphertext does not hash to the tag it was fetched under.
    case tagMismatch(expected: Tag, actual: Tag)
    /// The AEAD rejected the ciphertext (tampered, or the wrong key).
    case authenticationFailed
    /// The plaintext decrypted but does not derive the key it was decrypted with.
    case convergenceMismatch
    /// The manifest's chunk keys do not derive the file key used to open it.
    case fileKeyMismatch
    /// A chunk's plaintext length differs from the manifest's.
    case lengthMismatch(expected: Int, actual: Int)
    /// A compressed chunk does not inflate to exactly its manifest length.
    case malformedEncoding
}

/// Deterministic authenticated encryption of one chunk: AES-256-GCM under the convergent key with a
/// nonce derived from that key. Reusing the (key, nonce) pair is safe here because a convergent key
/// only ever encrypts the one plaintext it was derived from, so equal pairs mean equal plaintexts.
///
/// Why GCM and not GCM-SIV: GCM-SIV's nonce-misuse resistance buys nothing when every key has one
/// message, and it costs a second pass (POLYVAL, then CTR); `twin bench ce` measures both.
public enum ChunkCipher {
    public static let overhead = 16

    static func nonce(for key: SymmetricKey, label: [UInt8]) -> AES.GCM.Nonce {
        let bytes = key.withUnsafeBytes { prk in
            label.withUnsafeBytes { HKDFSHA256.expand(pseudoRandomKey: prk, info: $0, outputByteCount: 12) }
        }
        return try! AES.GCM.Nonce(data: bytes)
    }

    /// A chunk's `ciphertext || tag`, for the representation `encoding` produced.
    public static func seal(_ representation: UnsafeRawBufferPointer, key: SymmetricKey,
                            encoding: ChunkEncoding = .stored) -> [UInt8] {
        seal(representation, key: key, nonceLabel: encoding.nonceLabel, aad: [])
    }

    /// Opens a chunk sealed by `seal(_:key:encoding:)`, giving back the representation.
    public static func open(_ sealed: [UInt8], key: SymmetricKey, encoding: ChunkEncoding = .stored) throws -> [UInt8] {
        try open(sealed, key: key, nonceLabel: encoding.nonceLabel, aad: [])
    }

    static func seal(_ plaintext: UnsafeRawBufferPointer, key: SymmetricKey,
                     nonceLabel: [UInt8], aad: [UInt8]) -> [UInt8] {
        Array(sealedWithNonce(plaintext, key: key, nonceLabel: nonceLabel, aad: aad).dropFirst(nonceSize))
    }

    /// `nonce || ciphertext || tag`, the buffer the AEAD wrote; what is stored is all after the nonce.
    private static func sealedWithNonce(_ plaintext: UnsafeRawBufferPointer, key: SymmetricKey,
                                        nonceLabel: [UInt8], aad: [UInt8]) -> Data {
        let combined = try! AES.GCM.seal(plaintext, using: key, nonce: nonce(for: key, label: nonceLabel),
                                         authenticating: aad).combined!
        precondition(combined.count == nonceSize + plaintext.count + overhead, "unexpected AES-GCM layout")
        return combined
    }

    static let nonceSize = 12

    /// A chunk sealed and tagged, its bytes left in the buffer the AEAD wrote (the pipeline's path:
    /// copying every chunk out of it cost ~3 % of the pipeline).
    static func sealAndTag(_ representation: UnsafeRawBufferPointer, key: SymmetricKey,
                           encoding: ChunkEncoding) -> HashedCiphertext {
        HashedCiphertext(storage: sealedWithNonce(representation, key: key, nonceLabel: encoding.nonceLabel, aad: []),
                         offset: nonceSize)
    }

    public static func seal(_ representation: [UInt8], key: SymmetricKey, encoding: ChunkEncoding = .stored) -> [UInt8] {
        representation.withUnsafeBytes { seal($0, key: key, encoding: encoding) }
    }

    static func open(_ sealed: [UInt8], key: SymmetricKey, nonceLabel: [UInt8], aad: [UInt8]) throws -> [UInt8] {
        guard sealed.count >= overhead else { throw IntegrityError.authenticationFailed }
        do {
            let box = try AES.GCM.SealedBox(nonce: nonce(for: key, label: nonceLabel),
                                            ciphertext: sealed[..<(sealed.count - overhead)],
                                            tag: sealed[(sealed.count - overhead)...])
            return Array(try AES.GCM.open(box, using: key, authenticating: aad))
        } catch {
            throw IntegrityError.authenticationFailed
        }
    }
}
