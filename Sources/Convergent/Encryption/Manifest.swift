@_exported import BinaryCoding
import Crypto

/// The plaintext recipe of an image: its chunks in order, each with the tag to fetch it by, the key
/// that opens it and its length. Only ever stored encrypted (`C_M`), under the file key `K_M`.
///
/// Encoding, all integers big-endian:
/// `"TWMF" | version | u32 len | media type (ASCII) | u64 total length | u32 n | n × entry`, where an
/// entry is `tag[32] key[32] u32 len u8 encoding` in version 2 (keys derived from content alone)
/// and `tag[32] key[32] u32 len u8 encoding keySource[32]` in version 3 (keys from a key server:
/// every entry carries its unit's `r_U`, from which a reader re-derives and checks its key).
public struct Manifest: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var tag: Tag
        public var key: SymmetricKey
        /// The plaintext's length.
        public var length: Int
        public var encoding: ChunkEncoding
        /// `r_U` of the chunk's key unit when a key server chose the key (`KeyUnit.chunkKey`).
        public var keySource: SymmetricKey?

        public init(tag: Tag, key: SymmetricKey, length: Int, encoding: ChunkEncoding = .stored, keySource: SymmetricKey? = nil) {
            self.tag = tag
            self.key = key
            self.length = length
            self.encoding = encoding
            self.keySource = keySource
        }

        public static func == (lhs: Entry, rhs: Entry) -> Bool {
            lhs.tag == rhs.tag && lhs.length == rhs.length && lhs.encoding == rhs.encoding
                && lhs.key.bytes == rhs.key.bytes && lhs.keySource?.bytes == rhs.keySource?.bytes
        }
    }

    public var mediaType: String
    public var entries: [Entry]
    public var totalLength: Int { entries.reduce(0) { $0 + $1.length } }

    public static let magic = Array("TWMF".utf8)
    /// 2: chunks and manifests sealed under synthetic nonces, file tags bound to chunk lists.
    public static let version: UInt8 = 2
    /// 3: as 2, with each chunk's key source (server-aided keys).
    public static let serverAidedVersion: UInt8 = 3
    /// No chunker emits more; decoders refuse more so a hostile manifest cannot demand huge buffers.
    public static let maximumChunkLength = 16 << 20
    static let maximumMediaTypeLength = 127
    static let entrySize = 32 + 32 + 4 + 1

    public init(mediaType: String, entries: [Entry]) {
        self.mediaType = mediaType
        self.entries = entries
    }

    /// Whether the keys came from a key server (version 3); a manifest is all one or the other.
    var isServerAided: Bool { entries.first?.keySource != nil }

    public func encoded() -> [UInt8] {
        precondition(entries.allSatisfy { ($0.keySource != nil) == isServerAided }, "a manifest mixes key origins")
        var writer = BinaryWriter(capacity: 32 + entries.count * (Self.entrySize + 32))
        writer.write(raw: Self.magic)
        writer.write(isServerAided ? Self.serverAidedVersion : Self.version)
        writer.write(lengthPrefixed: mediaType)
        writer.write(UInt64(totalLength))
        writer.write(UInt32(entries.count))
        for entry in entries {
            writer.write(entry.tag)
            entry.key.withUnsafeBytes { writer.write(raw: $0) }
            writer.write(UInt32(entry.length))
            writer.write(entry.encoding.rawValue)
            entry.keySource?.withUnsafeBytes { writer.write(raw: $0) }
        }
        return writer.bytes
    }

    public init(decoding bytes: [UInt8]) throws {
        var reader = BinaryReader(bytes)
        guard try reader.read("magic", count: Self.magic.count).elementsEqual(Self.magic) else { throw BinaryDecodingError.badMagic }
        let version = try reader.readUInt8("version")
        guard version == Self.version || version == Self.serverAidedVersion else { throw BinaryDecodingError.unsupportedVersion(version) }
        let entrySize = Self.entrySize + (version == Self.serverAidedVersion ? 32 : 0)
        let mediaType = try reader.readString("media type", maxLength: Self.maximumMediaTypeLength)
        guard mediaType.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw BinaryDecodingError.invalidValue(field: "media type", reason: "not printable ASCII")
        }
        let total = try reader.readUInt64("total length")
        let count = Int(try reader.readUInt32("chunk count"))
        guard count * entrySize == reader.remaining else {
            throw BinaryDecodingError.invalidValue(field: "chunk count", reason: "\(count) chunks do not fill \(reader.remaining) bytes")
        }
        var entries: [Entry] = []
        entries.reserveCapacity(count)
        var sum: UInt64 = 0
        for _ in 0..<count {
            let tag = try reader.readDigest("chunk tag")
            let key = SymmetricKey(data: try reader.read("chunk key", count: 32))
            let length = Int(try reader.readUInt32("chunk length"))
            guard (1...Self.maximumChunkLength).contains(length) else {
                throw BinaryDecodingError.invalidValue(field: "chunk length", reason: "\(length) out of range")
            }
            let rawEncoding = try reader.readUInt8("chunk encoding")
            guard let encoding = ChunkEncoding(rawValue: rawEncoding) else {
                throw BinaryDecodingError.invalidValue(field: "chunk encoding", reason: "unknown encoding \(rawEncoding)")
            }
            let keySource = version == Self.serverAidedVersion ? SymmetricKey(data: try reader.read("key source", count: 32)) : nil
            sum += UInt64(length)
            entries.append(Entry(tag: tag, key: key, length: length, encoding: encoding, keySource: keySource))
        }
        guard sum == total else {
            throw BinaryDecodingError.invalidValue(field: "total length", reason: "\(total) ≠ sum of chunks \(sum)")
        }
        try reader.finish()
        self.init(mediaType: mediaType, entries: entries)
    }

    /// `K_M = HKDF(SHA-256("twin.file.v1" || u64 len || k_1 || … || k_n), info: "twin.file-key.v1")`:
    /// a hash of the whole image computed from the chunk keys, with no second pass over the data.
    public func fileKey() -> SymmetricKey {
        var hasher = SHA256()
        hasher.update(data: Label.fileHash)
        withUnsafeBytes(of: UInt64(totalLength).bigEndian) { hasher.update(bufferPointer: $0) }
        for entry in entries { entry.key.withUnsafeBytes { hasher.update(bufferPointer: $0) } }
        return Digest32(hasher.finalize()).withUnsafeBytes {
            HKDFSHA256.deriveKey(inputKeyMaterial: $0, info: Label.fileKey, outputByteCount: 32)
        }
    }

    /// `C_M`: the manifest sealed deterministically under `K_M` (a synthetic nonce from its bytes),
    /// so identical images agree on it.
    public func sealed(with fileKey: SymmetricKey) -> [UInt8] {
        encoded().withUnsafeBytes {
            Array(ChunkCipher.sealedBuffer($0, key: fileKey, nonce: ChunkCipher.manifestNonce(key: fileKey, manifest: $0),
                                           aad: Label.manifestAAD))
        }
    }

    /// `T_M = SHA-256("twin.file-tag.v2" || MerkleRoot(C_M) || t_1 || … || t_n)`: a file's identity
    /// binds its sealed manifest and its chunk list, so the server, which cannot open `C_M`, can
    /// still check at commit that a file's announced chunks are the ones its tag names. Nobody can
    /// commit a real `T_M` with a chunk list of their own.
    public static func fileTag(sealedManifest: [UInt8], chunkTags: some Sequence<Tag>) -> Tag {
        var hasher = SHA256()
        hasher.update(data: Label.fileTag)
        MerkleTree.root(of: sealedManifest).withUnsafeBytes { hasher.update(bufferPointer: $0) }
        for tag in chunkTags { tag.withUnsafeBytes { hasher.update(bufferPointer: $0) } }
        return Digest32(hasher.finalize())
    }

    /// Opens `C_M` and checks that its nonce is its own, that its chunk keys derive `fileKey` (a
    /// manifest cannot be paired with a file key other than its own) and, given `fileTag`, that the
    /// sealed manifest and its chunk tags make that tag.
    public static func open(_ sealed: [UInt8], fileKey: SymmetricKey, fileTag: Tag? = nil) throws -> Manifest {
        let (plaintext, nonce) = try ChunkCipher.open(sealed, key: fileKey, aad: Label.manifestAAD)
        guard plaintext.withUnsafeBytes({ ChunkCipher.manifestNonce(key: fileKey, manifest: $0) }).bytes == nonce else {
            throw IntegrityError.authenticationFailed
        }
        let manifest = try Manifest(decoding: plaintext)
        guard manifest.fileKey().bytes.constantTimeEquals(fileKey.bytes) else {
            throw IntegrityError.fileKeyMismatch
        }
        if let fileTag {
            let actual = Self.fileTag(sealedManifest: sealed, chunkTags: manifest.entries.map(\.tag))
            guard actual == fileTag else { throw IntegrityError.tagMismatch(expected: fileTag, actual: actual) }
        }
        return manifest
    }
}

extension SymmetricKey {
    /// The raw key bytes, for encodings. Callers keep them no longer than needed.
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }
}

extension Array where Element == UInt8 {
    func constantTimeEquals(_ other: [UInt8]) -> Bool { Convergent.constantTimeEquals(self, other) }
}
