import Crypto

/// Domain-separation labels. Each names its role and version, so no two derivations can ever collide.
enum Label {
    static let chunkHash = Array("twin.chunk.v1".utf8)
    static let chunkKey = Array("twin.chunk-key.v1".utf8)
    static let chunkNonce = Array("twin.chunk-nonce.v2".utf8)
    static let fileHash = Array("twin.file.v1".utf8)
    static let fileKey = Array("twin.file-key.v1".utf8)
    static let manifestNonce = Array("twin.manifest-nonce.v2".utf8)
    static let manifestAAD = Array("twin.manifest.v2".utf8)
    static let fileTag = Array("twin.file-tag.v2".utf8)
}

/// `h_i = SHA-256("twin.chunk.v1" || m_i)`: what the key of a chunk is derived from.
public func contentHash(of plaintext: UnsafeRawBufferPointer) -> Digest32 {
    var hasher = SHA256()
    hasher.update(data: Label.chunkHash)
    hasher.update(bufferPointer: plaintext)
    return Digest32(hasher.finalize())
}

public func contentHash(of plaintext: [UInt8]) -> Digest32 {
    plaintext.withUnsafeBytes { contentHash(of: $0) }
}

/// Turns content hashes into convergent chunk keys. The default derives locally; a DupLESS-style key
/// server plugs in here (the OPRF output of `h_i` becomes the key material) without changing callers.
/// Batched and async so a remote implementation pays one round trip per batch, not per chunk.
public protocol ChunkKeyDerivation: Sendable {
    /// One key per hash, in order.
    func keys(for contentHashes: [Digest32]) async throws -> [SymmetricKey]
    /// Whether a reader can re-derive keys to check that a chunk's plaintext matches its key.
    var supportsLocalVerification: Bool { get }
}

/// `k_i = HKDF-SHA256(ikm: h_i, info: "twin.chunk-key.v1")`, all on this machine.
public struct LocalKeyDerivation: ChunkKeyDerivation {
    public init() {}

    public func keys(for contentHashes: [Digest32]) async throws -> [SymmetricKey] {
        contentHashes.map(Self.key(for:))
    }

    public var supportsLocalVerification: Bool { true }

    /// The synchronous core, for callers that know they derive locally.
    public static func key(for contentHash: Digest32) -> SymmetricKey {
        contentHash.withUnsafeBytes {
            HKDFSHA256.deriveKey(inputKeyMaterial: $0, info: Label.chunkKey, outputByteCount: 32)
        }
    }
}
