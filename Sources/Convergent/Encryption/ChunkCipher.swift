import Crypto
import Foundation

/// Why decryption refused content. A reader never gets bytes that failed any of these checks.
public enum IntegrityError: Error, Equatable, Sendable {
    /// The ciphertext does not hash to the tag it was fetched under.
    case tagMismatch(expected: Tag, actual: Tag)
    /// The AEAD rejected the ciphertext (tampered, or the wrong key), or its nonce is not the one
    /// its plaintext derives.
    case authenticationFailed
    /// The plaintext decrypted but does not derive the key it was decrypted with.
    case convergenceMismatch
    /// The manifest's chunk keys do not derive the file key used to open it.
    case fileKeyMismatch
    /// A chunk's plaintext length differs from the manifest's.
    case lengthMismatch(expected: Int, actual: Int)
    /// A compressed chunk does not inflate to exactly its manifest length.
    case malformedEncoding
    /// A key derivation answered for another number of units than it was asked for.
    case keySourceCount(expected: Int, actual: Int)
}

/// Deterministic authenticated encryption, SIV-style: AES-256-GCM under a convergent key with a
/// synthetic nonce derived from the key and from the exact bytes sealed, stored in front of the
/// ciphertext (`nonce || ciphertext || tag`). Sealing stays a function of the plaintext, so identical
/// chunks still give identical ciphertexts, and no (key, nonce) pair ever seals two different
/// messages: two encodings of one chunk, or two compressors' outputs of it, get different nonces. A
/// reader opens with the stored nonce and then checks that the plaintext derives it.
///
/// A chunk's nonce binds its encoding and, for a compressed representation, SHA-256 of it; a stored
/// chunk's bytes are fixed by its key already (the key is derived from them), so it costs no extra
/// pass over the data. A manifest's nonce binds SHA-256 of the manifest (FORMAT.md).
///
/// Why GCM and not GCM-SIV: the synthetic nonce gives the misuse resistance GCM-SIV would, at the
/// cost of hashing only what is compressed, where GCM-SIV costs a second pass (POLYVAL, then CTR)
/// over every byte; `twin bench ce` measures both.
public enum ChunkCipher {
    static let nonceSize = 12
    static let tagSize = 16
    /// What sealing adds to a representation: the nonce in front, the GCM tag behind.
    public static let overhead = nonceSize + tagSize

    /// The synthetic nonce of a chunk whose representation in `encoding` is `representation`.
    static func chunkNonce(key: SymmetricKey, encoding: ChunkEncoding, representation: UnsafeRawBufferPointer) -> AES.GCM.Nonce {
        var info = Label.chunkNonce + [encoding.rawValue]
        if encoding != .stored { info += Digest32(SHA256.hash(data: representation)).bytes }
        return nonce(key: key, info: info)
    }

    /// The synthetic nonce of a manifest.
    static func manifestNonce(key: SymmetricKey, manifest: UnsafeRawBufferPointer) -> AES.GCM.Nonce {
        nonce(key: key, info: Label.manifestNonce + Digest32(SHA256.hash(data: manifest)).bytes)
    }

    private static func nonce(key: SymmetricKey, info: [UInt8]) -> AES.GCM.Nonce {
        let bytes = key.withUnsafeBytes { prk in
            info.withUnsafeBytes { HKDFSHA256.expand(pseudoRandomKey: prk, info: $0, outputByteCount: nonceSize) }
        }
        return try! AES.GCM.Nonce(data: bytes)
    }

    /// A chunk's `nonce || ciphertext || tag`, for the representation `encoding` produced.
    public static func seal(_ representation: UnsafeRawBufferPointer, key: SymmetricKey,
                            encoding: ChunkEncoding = .stored) -> [UInt8] {
        Array(sealedBuffer(representation, key: key, nonce: chunkNonce(key: key, encoding: encoding, representation: representation), aad: []))
    }

    public static func seal(_ representation: [UInt8], key: SymmetricKey, encoding: ChunkEncoding = .stored) -> [UInt8] {
        representation.withUnsafeBytes { seal($0, key: key, encoding: encoding) }
    }

    /// Opens a chunk sealed by `seal(_:key:encoding:)`, giving back the representation once its
    /// nonce is the one it derives.
    public static func open(_ sealed: [UInt8], key: SymmetricKey, encoding: ChunkEncoding = .stored) throws -> [UInt8] {
        let (representation, nonce) = try open(sealed, key: key, aad: [])
        guard representation.withUnsafeBytes({ chunkNonce(key: key, encoding: encoding, representation: $0) }).bytes == nonce else {
            throw IntegrityError.authenticationFailed
        }
        return representation
    }

    /// A chunk sealed and tagged, its bytes left in the buffer the AEAD wrote (the pipeline's path:
    /// no chunk is copied out of it).
    static func sealAndTag(_ representation: UnsafeRawBufferPointer, key: SymmetricKey,
                           encoding: ChunkEncoding) -> HashedCiphertext {
        HashedCiphertext(storage: sealedBuffer(representation, key: key,
                                               nonce: chunkNonce(key: key, encoding: encoding, representation: representation), aad: []))
    }

    /// `nonce || ciphertext || tag`, as the AEAD wrote it.
    static func sealedBuffer(_ plaintext: UnsafeRawBufferPointer, key: SymmetricKey, nonce: AES.GCM.Nonce, aad: [UInt8]) -> Data {
        let combined = try! AES.GCM.seal(plaintext, using: key, nonce: nonce, authenticating: aad).combined!
        precondition(combined.count == plaintext.count + overhead, "unexpected AES-GCM layout")
        return combined
    }

    /// The plaintext of `nonce || ciphertext || tag`, and the nonce it was sealed under, which the
    /// caller checks against the one the plaintext derives.
    static func open(_ sealed: [UInt8], key: SymmetricKey, aad: [UInt8]) throws -> (plaintext: [UInt8], nonce: [UInt8]) {
        guard sealed.count >= overhead else { throw IntegrityError.authenticationFailed }
        do {
            let box = try AES.GCM.SealedBox(combined: sealed)
            return (Array(try AES.GCM.open(box, using: key, authenticating: aad)), Array(sealed[..<nonceSize]))
        } catch {
            throw IntegrityError.authenticationFailed
        }
    }
}

extension AES.GCM.Nonce {
    var bytes: [UInt8] { withUnsafeBytes { Array($0) } }
}
