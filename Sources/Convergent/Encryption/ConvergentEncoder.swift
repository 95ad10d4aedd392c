import Crypto

/// One encrypted chunk as it leaves the pipeline: what the server stores under `tag`.
public struct EncryptedChunk: Sendable {
    public var index: Int
    /// The ciphertext with its tag and the leaf hashes behind it.
    public var sealed: HashedCiphertext
    public var plaintextLength: Int
    public var tag: Tag { sealed.tag }
    /// A copy of the ciphertext (`sealed` lends it without one).
    public var ciphertext: [UInt8] { sealed.bytes }
}

/// The result of encoding one image: everything an upload needs besides the chunk ciphertexts.
public struct EncodedFile: Sendable {
    public var manifest: Manifest
    /// `K_M`, the secret that opens the manifest and hence the image.
    public var fileKey: SymmetricKey
    /// `C_M`.
    public var sealedManifest: [UInt8]
    /// `T_M`.
    public var fileTag: Tag
    public var format: ImageFormat
    public var length: Int { manifest.totalLength }
    public var chunkTags: [Tag] { manifest.entries.map(\.tag) }
}

/// The convergent pipeline: chunk, hash, derive keys, encrypt, tag, then the manifest, `K_M`, `C_M`
/// and `T_M`. Streams: at most `batchSize` chunks are held at once, whatever the image's size.
public struct ConvergentEncoder: Sendable {
    public var keyDerivation: any ChunkKeyDerivation
    public var chunking: ChunkingParameters
    /// Chunks whose keys are derived in one call (one round trip to a key server).
    public var batchSize: Int
    /// Where chunks sealed earlier (in this run, by this process) are looked up before sealing again.
    public var cache: SealedChunkCache?
    /// Where the chunker's read buffer comes from and returns to, so files in a row reuse one.
    public var bufferPool: ChunkBufferPool?

    public init(keyDerivation: any ChunkKeyDerivation = LocalKeyDerivation(),
                chunking: ChunkingParameters = .twin, batchSize: Int = 16, cache: SealedChunkCache? = nil,
                bufferPool: ChunkBufferPool? = nil) {
        self.keyDerivation = keyDerivation
        self.chunking = chunking
        self.batchSize = batchSize
        self.cache = cache
        self.bufferPool = bufferPool
    }

    /// Encodes `source`, handing every encrypted chunk to `onChunk` in order as soon as it is ready.
    public func encode<Source: ByteSource>(
        _ source: Source,
        onChunk: (EncryptedChunk) async throws -> Void = { _ in }
    ) async throws -> EncodedFile {
        var chunker = Chunker(source: source, parameters: chunking, bufferPool: bufferPool)
        var entries: [Manifest.Entry] = []
        if keyDerivation is LocalKeyDerivation {
            // Keys come without a round trip, so each chunk is hashed and sealed where it lies in the
            // chunker's buffer: the plaintext is never copied (a copy is one more pass over every byte).
            while let (chunk, entry) = try chunker.withNextChunk({ plaintext, kind in
                let hash = contentHash(of: plaintext)
                return seal(plaintext, kind: kind, contentHash: hash, key: LocalKeyDerivation.key(for: hash),
                            index: entries.count)
            }) {
                entries.append(entry)
                try await onChunk(chunk)
            }
        } else {
            // A remote derivation answers a batch per round trip, so chunks are held until it does.
            var batch: [Chunk] = []
            batch.reserveCapacity(batchSize)
            var done = false
            while !done {
                if let chunk = try chunker.next() { batch.append(chunk) } else { done = true }
                guard batch.count == batchSize || (done && !batch.isEmpty) else { continue }
                let hashes = batch.map { contentHash(of: $0.bytes) }
                let keys = try await keyDerivation.keys(for: hashes)
                precondition(keys.count == batch.count, "key derivation returned \(keys.count) keys for \(batch.count) chunks")
                for ((plaintext, key), hash) in zip(zip(batch, keys), hashes) {
                    let (chunk, entry) = plaintext.bytes.withUnsafeBytes {
                        seal($0, kind: plaintext.kind, contentHash: hash, key: key, index: entries.count)
                    }
                    entries.append(entry)
                    try await onChunk(chunk)
                }
                batch.removeAll(keepingCapacity: true)
            }
        }
        chunker.recycleBuffer()
        let manifest = Manifest(mediaType: chunker.format.mediaType, entries: entries)
        let fileKey = manifest.fileKey()
        let sealed = manifest.sealed(with: fileKey)
        return EncodedFile(manifest: manifest, fileKey: fileKey, sealedManifest: sealed,
                           fileTag: Manifest.fileTag(sealedManifest: sealed, chunkTags: entries.map(\.tag)), format: chunker.format)
    }

    /// One chunk through encoding, encryption and tagging (or from the cache), with its manifest entry.
    private func seal(_ plaintext: UnsafeRawBufferPointer, kind: RegionKind, contentHash: Digest32,
                      key: SymmetricKey, index: Int) -> (EncryptedChunk, Manifest.Entry) {
        let cacheKey = SealedChunkCache.Key(contentHash: contentHash, kind: kind)
        let sealed: SealedChunkCache.Entry
        if let remembered = cache?.entry(for: cacheKey) {
            sealed = remembered
        } else {
            let (encoding, compressed) = ChunkEncoding.choose(for: plaintext, kind: kind)
            let ciphertext = compressed.map { $0.withUnsafeBytes { ChunkCipher.sealAndTag($0, key: key, encoding: encoding) } }
                ?? ChunkCipher.sealAndTag(plaintext, key: key, encoding: encoding)
            sealed = SealedChunkCache.Entry(ciphertext: ciphertext, encoding: encoding)
            cache?.insert(sealed, for: cacheKey)
        }
        let chunk = EncryptedChunk(index: index, sealed: sealed.ciphertext, plaintextLength: plaintext.count)
        return (chunk, Manifest.Entry(tag: chunk.tag, key: key, length: plaintext.count, encoding: sealed.encoding))
    }
}

/// The reading side: every byte handed out has passed its tag, its AEAD and, where keys can be
/// re-derived locally, the check that it derives its own key.
public struct ConvergentDecoder: Sendable {
    public var keyDerivation: any ChunkKeyDerivation

    public init(keyDerivation: any ChunkKeyDerivation = LocalKeyDerivation()) {
        self.keyDerivation = keyDerivation
    }

    /// Opens one chunk fetched under `entry.tag`.
    public func openChunk(_ ciphertext: [UInt8], entry: Manifest.Entry) throws -> [UInt8] {
        let actual = MerkleTree.root(of: ciphertext)
        guard actual == entry.tag else { throw IntegrityError.tagMismatch(expected: entry.tag, actual: actual) }
        let representation = try ChunkCipher.open(ciphertext, key: entry.key, encoding: entry.encoding)
        let plaintext = try entry.encoding.decode(representation, length: entry.length)
        if keyDerivation.supportsLocalVerification {
            let derived = LocalKeyDerivation.key(for: contentHash(of: plaintext))
            guard derived.bytes.constantTimeEquals(entry.key.bytes) else { throw IntegrityError.convergenceMismatch }
        }
        return plaintext
    }

    /// Decrypts a whole image: opens `C_M` (checking `T_M` and `K_M`), then fetches, checks and writes
    /// each chunk in order. On any error nothing more is written; callers write to a temporary file
    /// and rename only after success.
    public func decrypt(
        sealedManifest: [UInt8], fileKey: SymmetricKey, fileTag: Tag?,
        fetch: (Tag) async throws -> [UInt8],
        write: ([UInt8]) async throws -> Void
    ) async throws -> Manifest {
        let manifest = try Manifest.open(sealedManifest, fileKey: fileKey, fileTag: fileTag)
        for entry in manifest.entries {
            try await write(try openChunk(try await fetch(entry.tag), entry: entry))
        }
        return manifest
    }
}
