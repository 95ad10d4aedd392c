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
    static let keyUnit = Array("twin.key-unit.v1".utf8)
    static let serverAidedChunkKey = Array("twin.chunk-key.server-aided.v1".utf8)
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

/// A run of chunks whose keys come from one key-server evaluation: up to `maximumChunks`
/// consecutive chunks of one kind of one image (its metadata, its payload). Payload units start
/// where the payload does, so copies of an image that differ only in metadata have the same
/// payload units; a copy with other metadata has another metadata unit.
public struct KeyUnit: Sendable, Equatable {
    public static let maximumChunks = 32
    public var kind: RegionKind
    public var contentHashes: [Digest32]

    public init(kind: RegionKind, contentHashes: [Digest32]) {
        self.kind = kind
        self.contentHashes = contentHashes
    }

    /// `"twin.key-unit.v1" ‖ kind (0 metadata, 1 payload) ‖ u32 n ‖ h_1 ‖ … ‖ h_n`: what the key
    /// server evaluates, blinded. Its output `r_U` is the unit's key source.
    public var message: [UInt8] {
        var message = Label.keyUnit + [kind == .metadata ? 0 : 1] + withUnsafeBytes(of: UInt32(contentHashes.count).bigEndian, Array.init)
        for hash in contentHashes { hash.withUnsafeBytes { message += $0 } }
        return message
    }

    /// `k_i = HKDF-SHA256(ikm: r_U, info: "twin.chunk-key.server-aided.v1" ‖ h_i)`. Readers recompute
    /// it from the manifest's `r_U` and the opened plaintext: the key commitment that replaces
    /// re-deriving `k_i` from `h_i` alone.
    public static func chunkKey(source: SymmetricKey, contentHash: Digest32) -> SymmetricKey {
        source.withUnsafeBytes { ikm in
            HKDFSHA256.deriveKey(inputKeyMaterial: ikm, info: Label.serverAidedChunkKey + contentHash.bytes, outputByteCount: 32)
        }
    }
}

/// Where key sources come from when a key server takes part (DupLESS): an oblivious PRF of each
/// unit's message under the server's key, so chunk keys cannot be computed from the content alone.
/// Batched and async so a remote implementation pays one round trip per batch of units.
public protocol ChunkKeyDerivation: Sendable {
    /// One key source `r_U` per unit, in order.
    func keySources(for units: [KeyUnit]) async throws -> [SymmetricKey]
}

/// `k_i = HKDF-SHA256(ikm: h_i, info: "twin.chunk-key.v1")`, all on this machine: the key of
/// every chunk when no key server takes part.
public enum LocalKeyDerivation {
    public static func key(for contentHash: Digest32) -> SymmetricKey {
        contentHash.withUnsafeBytes {
            HKDFSHA256.deriveKey(inputKeyMaterial: $0, info: Label.chunkKey, outputByteCount: 32)
        }
    }
}
