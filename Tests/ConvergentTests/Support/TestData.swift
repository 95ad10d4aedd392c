import Convergent
import TestSupport
import Crypto
import Foundation

/// Deterministic pseudo-random bytes, the same in the Python reference (tools/convergent_reference.py):
/// SHA-256("twin.test.stream" || seed || u64be(i)) for i = 0, 1, …
func testStream(_ seed: String, count: Int) -> [UInt8] {
    var out = [UInt8]()
    out.reserveCapacity(count + 32)
    var index: UInt64 = 0
    while out.count < count {
        var input = Array("twin.test.stream".utf8) + Array(seed.utf8)
        withUnsafeBytes(of: index.bigEndian) { input.append(contentsOf: $0) }
        out.append(contentsOf: SHA256.hash(data: input))
        index += 1
    }
    return Array(out.prefix(count))
}

/// Splits `bytes` with the production chunker and returns the chunks.
func chunks(of bytes: [UInt8], parameters: ChunkingParameters = .twin) throws -> [[UInt8]] {
    var chunker = Chunker(source: MemoryByteSource(bytes), parameters: parameters)
    var out: [[UInt8]] = []
    while let chunk = try chunker.next() { out.append(chunk.bytes) }
    return out
}

/// Splits `bytes` read through `TrickleByteSource`: the chunker's buffered path, which files take,
/// where `chunks(of:)` takes the zero-copy one of in-memory sources. Only inputs larger than the
/// chunker's buffer (1 MiB) exercise its refills; smaller ones arrive whole before the first cut.
func chunksReadInPieces(of bytes: [UInt8], seed: UInt64) throws -> [[UInt8]] {
    var chunker = Chunker(source: TrickleByteSource(bytes: bytes, generator: SplitMix64(seed: seed)))
    var out: [[UInt8]] = []
    while let chunk = try chunker.next() { out.append(chunk.bytes) }
    return out
}

/// A source that answers each read with a random 1 byte to 70 kB and never lends its storage (it
/// reads through a `MemoryByteSource` but does not pass on `takeRemainingBytes`).
struct TrickleByteSource: ByteSource {
    var bytes: MemoryByteSource
    var generator: SplitMix64

    init(bytes: [UInt8], generator: SplitMix64) {
        self.bytes = MemoryByteSource(bytes)
        self.generator = generator
    }

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = min(buffer.count, Int.random(in: 1...70_000, using: &generator))
        return try bytes.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<count]))
    }
}

/// Offsets where chunks start (after the first).
func boundaries(of chunks: [[UInt8]]) -> Set<Int> {
    var offsets = Set<Int>(), position = 0
    for chunk in chunks.dropLast() {
        position += chunk.count
        offsets.insert(position)
    }
    return offsets
}

func encode(_ bytes: [UInt8], keyDerivation: (any ChunkKeyDerivation)? = nil, batchSize: Int = 64,
            cache: SealedChunkCache? = nil) async throws -> (EncodedFile, [Tag: [UInt8]])
{
    var store: [Tag: [UInt8]] = [:]
    let file = try await ConvergentEncoder(keyDerivation: keyDerivation, batchSize: batchSize, cache: cache).encode(MemoryByteSource(bytes)) {
        store[$0.tag] = $0.ciphertext
    }
    return (file, store)
}

func decrypt(_ file: EncodedFile, store: [Tag: [UInt8]]) async throws -> [UInt8] {
    var out: [UInt8] = []
    _ = try await ConvergentDecoder().decrypt(
        sealedManifest: file.sealedManifest, fileKey: file.fileKey, fileTag: file.fileTag,
        fetch: { tag in
            guard let bytes = store[tag] else { throw TestFailure("missing chunk \(tag)") }
            return bytes
        },
        write: { out.append(contentsOf: $0) })
    return out
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A small seeded generator for property tests (SplitMix64), so failures reproduce.
func randomBytes(_ count: Int, using generator: inout SplitMix64) -> [UInt8] {
    (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
}
