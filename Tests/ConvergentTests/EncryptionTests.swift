import BinaryCoding
@testable import Convergent
import Crypto
import Foundation
import Synchronization
import TestSupport
import Testing

/// Known answers from the independent Python implementation (tools/convergent_reference.py).
struct ReferenceVectors: Decodable {
    struct ChunkVector: Decodable, CustomTestStringConvertible {
        var name: String
        var encoding: UInt8
        var plaintext_length: Int
        var content_hash: String
        var key: String
        var ciphertext_sha256: String
        var ciphertext_length: Int
        var tag: String
        /// The synthetic nonce, which leads the ciphertext.
        var nonce: String
        /// SHA-256 of the compressed representation, for compressed encodings.
        var representation_sha256: String?
        var testDescription: String { name }
    }

    struct FileVector: Decodable, CustomTestStringConvertible {
        var seed: String
        var length: Int
        var chunk_lengths: [Int]
        var chunk_encodings: [UInt8]
        var chunk_tags: [String]
        var manifest: String
        var file_key: String
        var sealed_manifest_sha256: String
        var sealed_manifest_root: String
        var file_tag: String
        var testDescription: String { seed }
    }

    /// Who made the vectors, with the libzstd version whose output they pin.
    var source: String
    var chunks: [ChunkVector]
    var files: [FileVector]

    static let shared: ReferenceVectors = {
        let url = Bundle.module.url(forResource: "convergent_vectors", withExtension: "json", subdirectory: "Resources")!
        return try! JSONDecoder().decode(ReferenceVectors.self, from: Data(contentsOf: url))
    }()
}

@Suite("Convergent encryption")
struct EncryptionTests {
    @Test("chunk keys, ciphertexts and tags match the Python reference", arguments: ReferenceVectors.shared.chunks)
    func chunkKnownAnswers(vector: ReferenceVectors.ChunkVector) throws {
        let vectorEncoding = try #require(ChunkEncoding(rawValue: vector.encoding))
        let isMetadata = vectorEncoding != .stored
        let plaintext = vector.name == "zstd-xmp-ancestors" ? xmpAncestorsText(count: 2400)
            : isMetadata ? xmpLikeText(count: 500) : testStream(vector.name, count: vector.plaintext_length)
        #expect(plaintext.count == vector.plaintext_length)
        let hash = contentHash(of: plaintext)
        #expect(hash.hex == vector.content_hash)
        let key = LocalKeyDerivation.key(for: hash)
        #expect(key.bytes.hexString == vector.key)
        // A writer compresses metadata with zstd; the DEFLATE vector is a chunk an earlier version wrote.
        let (chosen, chosenRepresentation) = ChunkEncoding.encode(plaintext, kind: isMetadata ? .metadata : .payload)
        #expect(chosen == (isMetadata ? .zstd : .stored))
        let representation = chosen == vectorEncoding
            ? chosenRepresentation : try #require(plaintext.withUnsafeBytes { vectorEncoding.compress($0) })
        if let expected = vector.representation_sha256 {
            #expect(SHA256.hash(data: representation).hexString == expected)
        }
        let ciphertext = ChunkCipher.seal(representation, key: key, encoding: vectorEncoding)
        #expect(try vectorEncoding.decode(
            ChunkCipher.open(ciphertext, key: key, encoding: vectorEncoding), length: plaintext.count) == plaintext)
        #expect(ciphertext.count == vector.ciphertext_length)
        #expect(Array(ciphertext.prefix(12)).hexString == vector.nonce)
        #expect(SHA256.hash(data: ciphertext).hexString == vector.ciphertext_sha256)
        #expect(MerkleTree.root(of: ciphertext).hex == vector.tag)
    }

    @Test("whole files: chunking, manifest, K_M, C_M and T_M match the Python reference",
          arguments: ReferenceVectors.shared.files)
    func fileKnownAnswers(vector: ReferenceVectors.FileVector) async throws {
        let input = vector.seed == "png" ? referencePNG() : testStream(vector.seed, count: vector.length)
        #expect(input.count == vector.length)
        let (file, store) = try await encode(input)
        #expect(file.manifest.entries.map(\.length) == vector.chunk_lengths)
        #expect(file.manifest.entries.map(\.encoding.rawValue) == vector.chunk_encodings)
        #expect(try await decrypt(file, store: store) == input)
        #expect(file.chunkTags.map(\.hex) == vector.chunk_tags)
        #expect(file.manifest.encoded().hexString == vector.manifest)
        #expect(file.fileKey.bytes.hexString == vector.file_key)
        #expect(SHA256.hash(data: file.sealedManifest).hexString == vector.sealed_manifest_sha256)
        #expect(MerkleTree.root(of: file.sealedManifest).hex == vector.sealed_manifest_root)
        #expect(file.fileTag.hex == vector.file_tag)
    }

    /// Issue 19: two clients whose compressors emit different bytes for one metadata chunk, or two
    /// manifests of one image differing in an encoding, sealed under one key. With nonces from the
    /// key alone the ciphertexts' XOR was the plaintexts' XOR (a two-time pad); now every distinct
    /// sealed message gets its own nonce, and opening checks the nonce is the message's own.
    @Test("no (key, nonce) pair seals two different messages: encodings, compressor outputs, manifests")
    func nonceNeverSealsTwoMessages() throws {
        let plaintext = xmpLikeText(count: 400)
        let key = LocalKeyDerivation.key(for: contentHash(of: plaintext))
        let zstd = try #require(plaintext.withUnsafeBytes { ChunkEncoding.zstd.compress($0) })
        let deflate = try #require(plaintext.withUnsafeBytes { ChunkEncoding.deflate.compress($0) })
        // Another libzstd's output for the same chunk: the same frame with one literal byte changed
        // stands for it here (the nonce depends only on the bytes sealed).
        var otherZstd = zstd
        otherZstd[otherZstd.count / 2] ^= 0x5A
        let sealed = [(ChunkEncoding.stored, plaintext), (.zstd, zstd), (.zstd, otherZstd), (.deflate, deflate)].map {
            ChunkCipher.seal($0.1, key: key, encoding: $0.0)
        }
        let nonces = sealed.map { Array($0.prefix(12)) }
        #expect(Set(nonces).count == 4)
        // Same length, one byte apart: with a shared nonce the bodies would differ in that byte alone.
        let (a, b) = (sealed[1], sealed[2])
        let differing = zip(a.dropFirst(12), b.dropFirst(12)).filter { $0 != $1 }.count
        #expect(differing > a.count / 2)
        // Opening checks the nonce: a ciphertext re-sealed under another encoding's nonce is refused.
        #expect(throws: IntegrityError.authenticationFailed) { try ChunkCipher.open(sealed[1], key: key, encoding: .deflate) }
        #expect(try ChunkCipher.open(sealed[2], key: key, encoding: .zstd) == otherZstd)

        // Two manifests of one image that differ only in a chunk's encoding share K_M, not the nonce.
        let entry = Manifest.Entry(tag: MerkleTree.root(of: sealed[1]), key: key, length: plaintext.count, encoding: .zstd)
        var other = entry
        other.encoding = .deflate
        let first = Manifest(mediaType: "image/jpeg", entries: [entry]), second = Manifest(mediaType: "image/jpeg", entries: [other])
        #expect(first.fileKey() == second.fileKey())
        let (c1, c2) = (first.sealed(with: first.fileKey()), second.sealed(with: second.fileKey()))
        #expect(c1.prefix(12) != c2.prefix(12))
        #expect(try Manifest.open(c2, fileKey: second.fileKey()) == second)
    }

    /// Issue 19: a file tag names its chunk list, so a commit pairing a real `C_M` with other chunks
    /// makes another tag, and a reader refuses a manifest that does not make the tag it asked for.
    @Test("the file tag binds the sealed manifest and the chunk list")
    func fileTagBindsChunkList() async throws {
        let input = testStream("bind", count: 400_000)
        let (file, _) = try await encode(input)
        #expect(Manifest.fileTag(sealedManifest: file.sealedManifest, chunkTags: file.chunkTags) == file.fileTag)
        var junk = file.chunkTags
        junk[0] = contentHash(of: [1, 2, 3])
        #expect(Manifest.fileTag(sealedManifest: file.sealedManifest, chunkTags: junk) != file.fileTag)
        #expect(Manifest.fileTag(sealedManifest: file.sealedManifest, chunkTags: file.chunkTags.dropLast()) != file.fileTag)
        #expect(throws: IntegrityError.self) {
            try Manifest.open(file.sealedManifest, fileKey: file.fileKey, fileTag: contentHash(of: [9]))
        }
        #expect(try Manifest.open(file.sealedManifest, fileKey: file.fileKey, fileTag: file.fileTag) == file.manifest)
    }

    /// Zstandard's exact output may change between library versions; a mismatch here explains why the
    /// zstd vectors would fail (a build problem, not a format break).
    @Test("the linked libzstd is the version the vectors pin")
    func zstdVersionMatchesVectors() {
        let version = Zstd.libraryVersion
        let linked = "libzstd \(version / 10000).\(version / 100 % 100).\(version % 100)"
        #expect(ReferenceVectors.shared.source.contains(linked), "vectors: \(ReferenceVectors.shared.source); linked: \(linked)")
    }

    /// Cuts under the strict mask (before the average size) are rare by design; the vectors must still
    /// hold one, or a slip in that branch would pass every known answer.
    @Test("the reference vectors cut under both masks")
    func vectorsCoverBothMasks() {
        let parameters = ChunkingParameters.twin
        let payloadCuts = ReferenceVectors.shared.files.filter { $0.seed != "png" }.flatMap { $0.chunk_lengths.dropLast() }
        #expect(payloadCuts.contains { $0 > parameters.minimumSize && $0 <= parameters.averageSize })
        #expect(payloadCuts.contains { $0 > parameters.averageSize && $0 < parameters.maximumSize })
    }

    @Test("round trip on every image format and on random data", arguments: ["jpeg", "png", "webp", "heif", "random", "empty", "one byte"])
    func roundTrip(kind: String) async throws {
        let input: [UInt8] = switch kind {
        case "jpeg": ImageFixtures.jpeg().bytes
        case "png": ImageFixtures.png().bytes
        case "webp": ImageFixtures.webp().bytes
        case "heif": ImageFixtures.heif().bytes
        case "random": testStream("round-trip", count: 777_777)
        case "empty": []
        default: [42]
        }
        let (file, store) = try await encode(input)
        #expect(try await decrypt(file, store: store) == input)
        #expect(file.length == input.count)
    }

    @Test("identical inputs give identical tags, ciphertexts and keys; different inputs differ")
    func determinism() async throws {
        let image = ImageFixtures.jpeg().bytes
        let (first, firstStore) = try await encode(image)
        let (second, secondStore) = try await encode(image)
        #expect(first.fileTag == second.fileTag)
        #expect(first.sealedManifest == second.sealedManifest)
        #expect(first.fileKey.bytes == second.fileKey.bytes)
        #expect(firstStore == secondStore)
        var other = image
        other[other.count - 3] ^= 1
        let (third, _) = try await encode(other)
        #expect(third.fileTag != first.fileTag)
        #expect(third.fileKey.bytes != first.fileKey.bytes)
    }

    @Test("a sealed-chunk cache changes nothing but the work: same chunks, tags and manifest, and it is used")
    func sealedChunkCache() async throws {
        let cache = SealedChunkCache()
        // A PNG has metadata (compressed) and payload chunks; the same bytes again must come from the cache.
        let image = ImageFixtures.png().bytes
        let (plain, plainStore) = try await encode(image)
        let (first, firstStore) = try await encode(image, cache: cache)
        let remembered = cache.count
        #expect(remembered == plain.manifest.entries.count)
        let (second, secondStore) = try await encode(image, cache: cache)
        #expect(cache.count == remembered)
        for file in [first, second] {
            #expect(file.manifest == plain.manifest)
            #expect(file.sealedManifest == plain.sealedManifest)
            #expect(file.fileTag == plain.fileTag)
        }
        #expect(firstStore == plainStore && secondStore == plainStore)
        #expect(try await decrypt(second, store: secondStore) == image)
        // A bound smaller than any chunk keeps nothing.
        let tiny = SealedChunkCache(capacityBytes: 16)
        _ = try await encode(image, cache: tiny)
        #expect(tiny.count == 0)
    }

    @Test("every single-bit flip of a chunk ciphertext is detected, with or without a matching tag")
    func chunkBitFlips() throws {
        let plaintext = testStream("flip", count: 300)
        let key = LocalKeyDerivation.key(for: contentHash(of: plaintext))
        let ciphertext = ChunkCipher.seal(plaintext, key: key)
        let entry = Manifest.Entry(tag: MerkleTree.root(of: ciphertext), key: key, length: plaintext.count)
        let decoder = ConvergentDecoder()
        #expect(try decoder.openChunk(ciphertext, entry: entry) == plaintext)
        for bit in 0..<(ciphertext.count * 8) {
            var tampered = ciphertext
            tampered[bit / 8] ^= 1 << UInt8(bit % 8)
            #expect(throws: IntegrityError.self) { try decoder.openChunk(tampered, entry: entry) }
            // A server that also rewrites the tag is caught by the AEAD.
            var retagged = entry
            retagged.tag = MerkleTree.root(of: tampered)
            #expect(throws: IntegrityError.authenticationFailed) { try decoder.openChunk(tampered, entry: retagged) }
        }
    }

    @Test("every single-bit flip of a sealed manifest is detected")
    func manifestBitFlips() async throws {
        let (file, _) = try await encode(ImageFixtures.png(idatChunks: 2, idatSize: 2000).bytes)
        for bit in 0..<(file.sealedManifest.count * 8) {
            var tampered = file.sealedManifest
            tampered[bit / 8] ^= 1 << UInt8(bit % 8)
            #expect(throws: IntegrityError.self) { try Manifest.open(tampered, fileKey: file.fileKey, fileTag: file.fileTag) }
            #expect(throws: IntegrityError.authenticationFailed) { try Manifest.open(tampered, fileKey: file.fileKey) }
        }
    }

    @Test("a manifest sealed under a key its chunks do not derive is refused")
    func foreignFileKey() async throws {
        let (file, _) = try await encode(testStream("foreign", count: 5000))
        let otherKey = SymmetricKey(size: .bits256)
        let forged = file.manifest.sealed(with: otherKey)
        #expect(throws: IntegrityError.fileKeyMismatch) { try Manifest.open(forged, fileKey: otherKey) }
        #expect(throws: IntegrityError.authenticationFailed) { try Manifest.open(file.sealedManifest, fileKey: otherKey) }
    }

    @Test("a chunk swapped for another validly encrypted chunk is refused")
    func substitutedChunk() async throws {
        let (file, store) = try await encode(testStream("swap", count: 600_000))
        let victim = file.chunkTags[1]
        var poisoned = store
        poisoned[victim] = store[file.chunkTags[2]]
        await #expect(throws: IntegrityError.self) { _ = try await decrypt(file, store: poisoned) }
    }

    @Test("a compressed chunk must decode to exactly its manifest length: no bombs, no truncation, nothing after the stream",
          arguments: [ChunkEncoding.deflate, .zstd])
    func compressedLengthIsEnforced(encoding: ChunkEncoding) throws {
        let text = xmpLikeText(count: 500)
        let key = LocalKeyDerivation.key(for: contentHash(of: text))
        let representation = try #require(text.withUnsafeBytes { encoding.compress($0) })
        #expect(representation.count < text.count / 4)
        let decoder = ConvergentDecoder()
        func open(_ representation: [UInt8], length: Int, as encoding: ChunkEncoding = encoding) throws -> [UInt8] {
            let ciphertext = ChunkCipher.seal(representation, key: key, encoding: encoding)
            return try decoder.openChunk(ciphertext, entry: .init(tag: MerkleTree.root(of: ciphertext), key: key,
                                                                   length: length, encoding: encoding))
        }
        #expect(try open(representation, length: text.count) == text)
        for wrongLength in [10, text.count - 1, text.count + 1] {
            #expect(throws: IntegrityError.malformedEncoding) { try open(representation, length: wrongLength) }
        }
        // Cut short, followed by anything (a second stream included), or under another frame magic
        // (0xFD2FB527, a legacy pre-1.0 zstd format): refused, never partly used.
        var otherMagic = representation
        otherMagic[0] ^= 0x0f
        for malformed in [Array(representation.dropLast()), Array(representation.prefix(representation.count / 2)),
                          representation + [0], representation + representation, otherMagic] {
            #expect(throws: IntegrityError.malformedEncoding) { try open(malformed, length: text.count) }
        }
        // The same key under another encoding's nonce does not open it.
        let ciphertext = ChunkCipher.seal(representation, key: key, encoding: encoding)
        for other in ChunkEncoding.allCases where other != encoding {
            #expect(throws: IntegrityError.authenticationFailed) {
                try decoder.openChunk(ciphertext, entry: .init(tag: MerkleTree.root(of: ciphertext), key: key,
                                                               length: text.count, encoding: other))
            }
        }
        // Payload is never compressed, incompressible metadata stays stored.
        #expect(ChunkEncoding.encode(text, kind: .payload).0 == .stored)
        #expect(ChunkEncoding.encode(testStream("noise", count: 5000), kind: .metadata).0 == .stored)
    }

    @Test("a chunk whose plaintext does not derive its key is refused (convergence check)")
    func convergenceCheck() throws {
        let plaintext = testStream("convergence", count: 1000)
        let wrongKey = SymmetricKey(size: .bits256)
        let ciphertext = ChunkCipher.seal(plaintext, key: wrongKey)
        let entry = Manifest.Entry(tag: MerkleTree.root(of: ciphertext), key: wrongKey, length: plaintext.count)
        #expect(throws: IntegrityError.convergenceMismatch) { try ConvergentDecoder().openChunk(ciphertext, entry: entry) }
    }

    /// A key server's derivation, played by a keyed hash of each unit's message: the client
    /// cannot compute it alone, which is all the encoder may assume.
    final class KeyedUnitDerivation: ChunkKeyDerivation {
        let secret = SymmetricKey(data: Array(repeating: 7, count: 32))
        let calls = Mutex<[[KeyUnit]]>([])
        func keySources(for units: [KeyUnit]) async throws -> [SymmetricKey] {
            calls.withLock { $0.append(units) }
            return units.map { SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: $0.message, using: secret)) }
        }
    }

    @Test("server-aided keys: units follow the image's structure, batching changes no byte, and it round-trips",
          arguments: ["jpeg", "png", "unknown"])
    func serverAidedKeys(format: String) async throws {
        let input = switch format {
        case "jpeg": ImageFixtures.jpeg(exifComment: String(repeating: "<x:xmpmeta/>", count: 4000), scanBytes: 2_500_000).bytes
        case "png": ImageFixtures.png(texts: [String(repeating: "Author=alice ", count: 3000)], idatChunks: 40).bytes
        default: testStream("batches", count: 6_000_000)
        }
        let derivation = KeyedUnitDerivation()
        let (local, _) = try await encode(input)
        let (aided, store) = try await encode(input, keyDerivation: derivation)
        let (smallBatches, _) = try await encode(input, keyDerivation: KeyedUnitDerivation(), batchSize: 3)
        #expect(aided.manifest == smallBatches.manifest, "a unit is never split across calls")
        #expect(aided.fileTag == smallBatches.fileTag)
        #expect(Set(local.chunkTags).isDisjoint(with: aided.chunkTags), "every key changed")
        #expect(local.manifest.entries.map(\.length) == aided.manifest.entries.map(\.length), "the chunks did not")
        #expect(aided.manifest.entries.allSatisfy { $0.keySource != nil })
        #expect(try await decrypt(aided, store: store) == input)
        // Units: runs of one kind, of at most KeyUnit.maximumChunks, fewer than the chunks.
        let units: [KeyUnit] = derivation.calls.withLock { $0.flatMap { $0 } }
        let chunkCount = units.map { $0.contentHashes.count }.reduce(0, +)
        #expect(chunkCount == aided.manifest.entries.count)
        for unit in units { #expect(unit.contentHashes.count <= KeyUnit.maximumChunks) }
        #expect(units.count < aided.manifest.entries.count, "payload chunks share evaluations")
        let hasMetadata = units.contains { $0.kind == RegionKind.metadata }
        #expect(hasMetadata == (format != "unknown"))
    }

    @Test("server-aided keys keep dedup of metadata-edited copies: their payload chunks are the same")
    func serverAidedDedup() async throws {
        let derivation = KeyedUnitDerivation()
        let original = ImageFixtures.jpeg(exifComment: "GPS 48.85N 2.35E", scanBytes: 1_500_000).bytes
        let edited = ImageFixtures.jpeg(exifComment: "GPS 40.71N 74.00W, edited", scanBytes: 1_500_000).bytes
        let (a, _) = try await encode(original, keyDerivation: derivation)
        let (b, _) = try await encode(edited, keyDerivation: derivation)
        let (again, _) = try await encode(original, keyDerivation: derivation)
        #expect(again.fileTag == a.fileTag && again.sealedManifest == a.sealedManifest, "convergent")
        let shared = Set(a.chunkTags).intersection(b.chunkTags)
        let payload = a.manifest.entries.filter { shared.contains($0.tag) }.map(\.length).reduce(0, +)
        #expect(payload > 1_400_000, "the scan data deduplicates")
        #expect(a.fileTag != b.fileTag)
    }

    @Test("a server-aided chunk whose key does not derive from its key source and content is refused (key commitment)")
    func serverAidedKeyCommitment() async throws {
        let plaintext = testStream("commit", count: 1000)
        let source = SymmetricKey(data: Array(repeating: 3, count: 32))
        let key = KeyUnit.chunkKey(source: source, contentHash: contentHash(of: plaintext))
        let ciphertext = ChunkCipher.seal(plaintext, key: key)
        let tag = MerkleTree.root(of: ciphertext)
        let decoder = ConvergentDecoder()
        #expect(try decoder.openChunk(ciphertext, entry: .init(tag: tag, key: key, length: 1000, keySource: source)) == plaintext)
        // The right key with another claimed source, or no source at all (then the key must derive
        // from the content alone): both refused, though the AEAD opens.
        let other = SymmetricKey(data: Array(repeating: 4, count: 32))
        #expect(throws: IntegrityError.convergenceMismatch) {
            try decoder.openChunk(ciphertext, entry: .init(tag: tag, key: key, length: 1000, keySource: other))
        }
        #expect(throws: IntegrityError.convergenceMismatch) { try decoder.openChunk(ciphertext, entry: .init(tag: tag, key: key, length: 1000)) }
        // A version-3 manifest round-trips its key sources; truncated by one source it is refused.
        let manifest = Manifest(mediaType: "image/jpeg", entries: [.init(tag: tag, key: key, length: 1000, keySource: source)])
        let encoded = manifest.encoded()
        #expect(encoded[4] == Manifest.serverAidedVersion)
        #expect(try Manifest(decoding: encoded) == manifest)
        #expect(throws: (any Error).self) { try Manifest(decoding: Array(encoded.dropLast(32))) }
    }

    /// The pipeline keeps each chunk inside the AEAD's output buffer (nonce in front); the window must
    /// be exactly what the array path stores, tag included, at every leaf boundary.
    @Test("a chunk left in the AEAD's buffer equals the stored bytes, tag and leaves",
          arguments: [0, 1, 4079, 4080, 4081, 100_000])
    func sealedWindowMatchesArray(length: Int) throws {
        let plaintext = testStream("window", count: length)
        let key = LocalKeyDerivation.key(for: contentHash(of: plaintext))
        for encoding in ChunkEncoding.allCases {
            let window = plaintext.withUnsafeBytes { ChunkCipher.sealAndTag($0, key: key, encoding: encoding) }
            let array = ChunkCipher.seal(plaintext, key: key, encoding: encoding)
            #expect(window.count == length + ChunkCipher.overhead)
            #expect(window.bytes == array)
            #expect(window.tag == MerkleTree.root(of: array))
            #expect(window.leafHashes == MerkleTree.leafHashes(array))
            #expect(try ChunkCipher.open(window.bytes, key: key, encoding: encoding) == plaintext)
        }
    }

    /// A pooled chunker buffer still holds the previous file's bytes, and pooled zstd contexts carry
    /// state from earlier frames: neither may change a single output byte, in a row or concurrently.
    @Test("reused chunker buffers and compression contexts change nothing, in a row or concurrently")
    func reusedBuffersChangeNothing() async throws {
        let xmp = String(repeating: "<x:xmpmeta/>", count: 4000)
        let inputs: [[UInt8]] = [
            testStream("pool-large", count: 2_500_000),
            ImageFixtures.jpeg(exifComment: xmp, scanBytes: 1_200_000).bytes,
            ImageFixtures.png(texts: [String(repeating: "Author=alice ", count: 3000)], idatChunks: 8).bytes,
            ImageFixtures.jpeg(exifComment: "small", scanBytes: 20_000).bytes,  // shorter than what the buffer held
            testStream("pool-small", count: 150_000),
        ]
        var fresh: [EncodedFile] = []
        for input in inputs { fresh.append(try await ConvergentEncoder().encode(MemoryByteSource(input))) }
        let pool = ChunkBufferPool()
        let pooled = ConvergentEncoder(bufferPool: pool)
        for round in 0..<2 {  // twice: the second round starts from a buffer the first left full
            for (index, input) in inputs.enumerated() {
                // A source that reads in pieces, so the chunker fills (and refills) the pooled buffer.
                let source = TrickleByteSource(bytes: input, generator: SplitMix64(seed: UInt64(round * 10 + index)))
                let encoded = try await pooled.encode(source)
                #expect(encoded.manifest == fresh[index].manifest)
                #expect(encoded.fileTag == fresh[index].fileTag)
            }
        }
        #expect(pool.idleCount == 1)
        let concurrent = try await withThrowingTaskGroup(of: (Int, EncodedFile).self) { group in
            for (index, input) in inputs.enumerated() {
                group.addTask {
                    (index, try await pooled.encode(TrickleByteSource(bytes: input, generator: SplitMix64(seed: UInt64(index)))))
                }
            }
            return try await group.reduce(into: [Int: EncodedFile]()) { $0[$1.0] = $1.1 }
        }
        for (index, encoded) in concurrent { #expect(encoded.fileTag == fresh[index].fileTag) }
        #expect(pool.idleCount >= 1 && pool.idleCount <= inputs.count)
        // The "fresh" encoders above share the process's zstd contexts too; so after all that use, a
        // pooled context must still give the one-shot bytes the Python reference pinned.
        let vector = try #require(ReferenceVectors.shared.chunks.first { $0.encoding == ChunkEncoding.zstd.rawValue })
        let text = xmpLikeText(count: 500)
        let compressed = try #require(text.withUnsafeBytes { ChunkEncoding.zstd.compress($0) })
        #expect(SHA256.hash(data: compressed).hexString == vector.representation_sha256)
    }
}

@Suite("Manifest encoding")
struct ManifestEncodingTests {
    static let sample = Manifest(mediaType: "image/png", entries: [
        .init(tag: Digest32(bytes: [UInt8](repeating: 1, count: 32))!, key: SymmetricKey(data: [UInt8](repeating: 2, count: 32)), length: 10),
        .init(tag: Digest32(bytes: [UInt8](repeating: 3, count: 32))!, key: SymmetricKey(data: [UInt8](repeating: 4, count: 32)), length: 20),
    ])

    @Test func roundTrip() throws {
        #expect(try Manifest(decoding: Self.sample.encoded()) == Self.sample)
    }

    @Test("every truncation is refused")
    func truncations() {
        let bytes = Self.sample.encoded()
        for length in 0..<bytes.count {
            #expect(throws: BinaryDecodingError.self) { try Manifest(decoding: Array(bytes.prefix(length))) }
        }
    }

    @Test("malformed fields are refused with a reason")
    func malformed() {
        let bytes = Self.sample.encoded()
        #expect(throws: BinaryDecodingError.self) { try Manifest(decoding: bytes + [0]) }
        var badMagic = bytes; badMagic[0] = 0
        #expect(throws: BinaryDecodingError.badMagic) { try Manifest(decoding: badMagic) }
        // Version 1 (nonces from keys alone, file tags without chunk lists) is refused by name.
        for version: UInt8 in [1, 4] {
            var badVersion = bytes; badVersion[4] = version
            #expect(throws: BinaryDecodingError.unsupportedVersion(version)) { try Manifest(decoding: badVersion) }
        }
        // Version 2 entries read as version 3 (key sources missing) do not fill their count.
        var asServerAided = bytes; asServerAided[4] = Manifest.serverAidedVersion
        #expect(throws: BinaryDecodingError.self) { try Manifest(decoding: asServerAided) }
        var badTotal = bytes; badTotal[4 + 1 + 4 + 9 + 7] ^= 1  // last byte of the total length
        #expect(throws: BinaryDecodingError.self) { try Manifest(decoding: badTotal) }
        var zeroLength = bytes; zeroLength[zeroLength.count - 1] = 0; zeroLength[4 + 1 + 4 + 9 + 7] = 10
        #expect(throws: BinaryDecodingError.self) { try Manifest(decoding: zeroLength) }
        var badMedia = bytes; badMedia[10] = 0x20
        #expect(throws: BinaryDecodingError.self) { try Manifest(decoding: badMedia) }
    }
}

/// `<rdf:li>xmp.did:%08d</rdf:li>\n` for 0..<count, as in the Python reference: XMP-like metadata.
func xmpLikeText(count: Int) -> [UInt8] {
    (0..<count).flatMap { index -> [UInt8] in
        let digits = String(index)
        return Array("<rdf:li>xmp.did:\(String(repeating: "0", count: 8 - digits.count))\(digits)</rdf:li>\n".utf8)
    }
}

/// Photoshop-style DocumentAncestors, as tools/convergent_reference.py builds them: `count` random
/// 128-bit ids from the test stream, in upper-case hex.
func xmpAncestorsText(count: Int) -> [UInt8] {
    let ids = testStream("xmp-ancestors", count: 16 * count)
    return (0..<count).flatMap { index -> [UInt8] in
        let hex = ids[(16 * index)..<(16 * index + 16)].map { String(format: "%02X", $0) }.joined()
        return Array("<rdf:li>xmp.did:\(hex)</rdf:li> ".utf8)
    }
}

/// The PNG that tools/convergent_reference.py builds (reference_png), byte for byte.
func referencePNG() -> [UInt8] {
    func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let typed = Array(type.utf8) + data
        return ImageFixtures.be32(UInt32(data.count)) + typed + ImageFixtures.be32(ImageFixtures.crc32(typed))
    }
    let pixels = testStream("png-pixels", count: 700_000)
    return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        + chunk("IHDR", ImageFixtures.be32(640) + ImageFixtures.be32(480) + [8, 2, 0, 0, 0])
        + chunk("iTXt", Array("XML:com.adobe.xmp".utf8) + [0, 0, 0, 0, 0] + xmpLikeText(count: 3000))
        + chunk("tEXt", Array("Author".utf8) + [0] + Array("alice".utf8))
        + chunk("IDAT", Array(pixels[0..<300_000])) + chunk("IDAT", Array(pixels[300_000..<600_000]))
        + chunk("IDAT", Array(pixels[600_000...])) + chunk("IEND", [])
}
