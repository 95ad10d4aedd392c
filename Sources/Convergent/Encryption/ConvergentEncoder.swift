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
    /// A key server's derivation, or nil to derive every key locally from its chunk's content.
    public var keyDerivation: (any ChunkKeyDerivation)?
    public var chunking: ChunkingParameters
    /// Chunks held for one key-server call (one round trip); a unit is never split across calls.
    public var batchSize: Int
    /// Where chunks sealed earlier (in this run, by this process) are looked up before sealing again.
    public var cache: SealedChunkCache?
    /// Where the chunker's read buffer comes from and returns to, so files in a row reuse one.
    public var bufferPool: ChunkBufferPool?

    public init(keyDerivation: (any ChunkKeyDerivation)? = nil,
                chunking: ChunkingParameters = .twin, batchSize: Int = 64, cache: SealedChunkCache? = nil,
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
        if let keyDerivation {
            // The key server answers a batch of units per round trip, so chunks are held until it
            // does: whole units, at most `batchSize` chunks unless one unit alone is larger.
            var units: [(unit: KeyUnit, chunks: [Chunk])] = []
            var held = 0
            var done = false
            while !done {
                let next = try chunker.next()
                if let chunk = next {
                    let hash = contentHash(of: chunk.bytes)
                    if let last = units.last, last.unit.kind == chunk.kind, last.chunks.count < KeyUnit.maximumChunks {
                        units[units.count - 1].unit.contentHashes.append(hash)
                        units[units.count - 1].chunks.append(chunk)
                    } else {
                        units.append((KeyUnit(kind: chunk.kind, contentHashes: [hash]), [chunk]))
                    }
                    held += 1
                } else {
                    done = true
                }
                // Send every unit but the last, which may still grow, once enough is held.
                let ready = done ? units.count : (held >= batchSize ? units.count - 1 : 0)
                guard ready > 0 else { continue }
                let sources = try await keyDerivation.keySources(for: units.prefix(ready).map(\.unit))
                guard sources.count == ready else { throw IntegrityError.keySourceCount(expected: ready, actual: sources.count) }
                for ((unit, chunks), source) in zip(units.prefix(ready), sources) {
                    for (plaintext, hash) in zip(chunks, unit.contentHashes) {
                        let key = KeyUnit.chunkKey(source: source, contentHash: hash)
                        let (chunk, entry) = plaintext.bytes.withUnsafeBytes {
                            seal($0, kind: plaintext.kind, contentHash: hash, key: key, keySource: source, index: entries.count)
                        }
                        entries.append(entry)
                        try await onChunk(chunk)
                    }
                }
                units.removeFirst(ready)
                held = units.reduce(0) { $0 + $1.chunks.count }
            }
        } else {
            // Keys come without a round trip, so each chunk is hashed and sealed where it lies in the
            // chunker's buffer: the plaintext is never copied (a copy is one more pass over every byte).
            while let (chunk, entry) = try chunker.withNextChunk({ plaintext, kind in
                let hash = contentHash(of: plaintext)
                return seal(plaintext, kind: kind, contentHash: hash, key: LocalKeyDerivation.key(for: hash), keySource: nil,
                            index: entries.count)
            }) {
                entries.append(entry)
                try await onChunk(chunk)
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
                      key: SymmetricKey, keySource: SymmetricKey?, index: Int) -> (EncryptedChunk, Manifest.Entry) {
        // With a key server, one content can be sealed under several keys (in different units).
        let cacheKey = SealedChunkCache.Key(contentHash: contentHash, kind: kind, key: keySource.map { _ in key.withUnsafeBytes { Digest32(SHA256.hash(data: $0)) } })
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
        return (chunk, Manifest.Entry(tag: chunk.tag, key: key, length: plaintext.count, encoding: sealed.encoding, keySource: keySource))
    }
}

/// The reading side: every byte handed out has passed its tag, its AEAD and the check that it
/// derives its own key (from its content alone, or from its unit's key source and its content).
public struct ConvergentDecoder: Sendable {
    public init() {}

    /// Opens one chunk fetched under `entry.tag`.
    public func openChunk(_ ciphertext: [UInt8], entry: Manifest.Entry) throws -> [UInt8] {
        let actual = MerkleTree.root(of: ciphertext)
        guard actual == entry.tag else { throw IntegrityError.tagMismatch(expected: entry.tag, actual: actual) }
        let representation = try ChunkCipher.open(ciphertext, key: entry.key, encoding: entry.encoding)
        let plaintext = try entry.encoding.decode(representation, length: entry.length)
        let hash = contentHash(of: plaintext)
        let derived = entry.keySource.map { KeyUnit.chunkKey(source: $0, contentHash: hash) } ?? LocalKeyDerivation.key(for: hash)
        guard derived.bytes.constantTimeEquals(entry.key.bytes) else { throw IntegrityError.convergenceMismatch }
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
