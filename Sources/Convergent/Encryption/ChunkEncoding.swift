import CZlib
import CZstd
import Foundation
import Synchronization

/// How a chunk's plaintext is represented before encryption.
///
/// Metadata compresses well (XMP is verbose XML: a Photoshop file can carry megabytes of it) while
/// pixel data is already compressed, so only metadata chunks are tried, and kept compressed only when
/// that saves at least an eighth. The choice is a pure function of the bytes and their region kind, so
/// every client makes the same one and identical chunks still dedup.
public enum ChunkEncoding: UInt8, Sendable, Equatable, CaseIterable {
    case stored = 0
    /// Raw DEFLATE (RFC 1951), zlib level 1: what metadata was written as before `.zstd`; still read.
    case deflate = 1
    /// One Zstandard frame (RFC 8878) with the content size in its header, made with `Zstd.parameters`:
    /// what metadata is written as, since on Photoshop XMP it is both faster than zlib level 1 and
    /// smaller. Its exact output is part of the format; the known-answer vectors pin it (a zstd
    /// emitting different bytes would only cost dedup, never correctness).
    case zstd = 2

    /// What compressible metadata is written as.
    static let metadataCompression = ChunkEncoding.zstd

    static let minimumCompressibleLength = 64

    /// The representation to encrypt for `plaintext` of region kind `kind`.
    static func encode(_ plaintext: [UInt8], kind: RegionKind) -> (ChunkEncoding, [UInt8]) {
        let (encoding, compressed) = plaintext.withUnsafeBytes { choose(for: $0, kind: kind) }
        return (encoding, compressed ?? plaintext)
    }

    /// The encoding for `plaintext` of region kind `kind`, with the compressed bytes when it is not
    /// `.stored`; a stored chunk is sealed from wherever it already lies.
    static func choose(for plaintext: UnsafeRawBufferPointer, kind: RegionKind) -> (ChunkEncoding, compressed: [UInt8]?) {
        guard kind == .metadata, plaintext.count >= minimumCompressibleLength,
              let compressed = metadataCompression.compress(plaintext),
              compressed.count <= plaintext.count - plaintext.count / 8
        else { return (.stored, nil) }
        return (metadataCompression, compressed)
    }

    /// `plaintext` in this encoding (nil for `.stored`, which is the plaintext itself, or on failure).
    func compress(_ plaintext: UnsafeRawBufferPointer) -> [UInt8]? {
        switch self {
        case .stored: nil
        case .deflate: Deflate.compress(plaintext)
        case .zstd: Zstd.compress(plaintext)
        }
    }

    /// The plaintext of a compressed `representation`, which must be exactly `exactLength` bytes
    /// (nil for `.stored`, or when it is not).
    func decompress(_ representation: [UInt8], exactLength: Int) -> [UInt8]? {
        switch self {
        case .stored: nil
        case .deflate: Deflate.decompress(representation, exactLength: exactLength)
        case .zstd: Zstd.decompress(representation, exactLength: exactLength)
        }
    }

    /// The plaintext of `representation`, which must be exactly `length` bytes.
    func decode(_ representation: [UInt8], length: Int) throws -> [UInt8] {
        if self == .stored {
            guard representation.count == length else {
                throw IntegrityError.lengthMismatch(expected: length, actual: representation.count)
            }
            return representation
        }
        guard let plaintext = decompress(representation, exactLength: length) else { throw IntegrityError.malformedEncoding }
        return plaintext
    }
}

/// Zstandard through the system libzstd.
enum Zstd {
    /// Level 1 with a 2^11-entry match table and 6-byte minimum matches (level 1 gives a chunk of
    /// 128 KiB 2^13 and 5). Every client compresses its own copy of each metadata chunk before it can
    /// tell whether the server has it, so this runs over every copy of a photo's XMP a user holds.
    /// The smaller table and longer matches trade a little compression on other data for speed; on
    /// Photoshop XMP the ratio is unchanged.
    static let parameters: [(ZSTD_cParameter, Int32)] = [
        (ZSTD_c_compressionLevel, 1), (ZSTD_c_hashLog, 11), (ZSTD_c_minMatch, 6),
    ]

    /// A compression context: its workspace (hash tables, literal and sequence buffers, a few hundred
    /// KB) is allocated once and reused, where a context per call would be allocated, page-faulted and
    /// freed each time. Its parameters are set once, when it is made; `ZSTD_compress2` starts every
    /// frame afresh, so a reused context gives the bytes a new one would.
    private struct Context: @unchecked Sendable {  // used by one thread at a time: taken from the pool
        let pointer: OpaquePointer
    }

    /// Idle contexts; at most `poolLimit` are kept (one per chunk sealed at once is plenty).
    private static let pool = Mutex<[Context]>([])
    private static let poolLimit = max(8, ProcessInfo.processInfo.activeProcessorCount)

    static func compress(_ input: UnsafeRawBufferPointer) -> [UInt8]? {
        guard let context = pool.withLock({ $0.popLast() }) ?? makeContext() else { return nil }
        defer {
            let kept = pool.withLock { idle in
                guard idle.count < poolLimit else { return false }
                idle.append(context)
                return true
            }
            if !kept { ZSTD_freeCCtx(context.pointer) }
        }
        var output = [UInt8](repeating: 0, count: ZSTD_compressBound(input.count))
        let written = output.withUnsafeMutableBytes { target in
            ZSTD_compress2(context.pointer, target.baseAddress, target.count, input.baseAddress, input.count)
        }
        guard ZSTD_isError(written) == 0 else { return nil }
        output.removeLast(output.count - written)
        return output
    }

    private static func makeContext() -> Context? {
        guard let pointer = ZSTD_createCCtx() else { return nil }
        for (parameter, value) in parameters where ZSTD_isError(ZSTD_CCtx_setParameter(pointer, parameter, value)) != 0 {
            ZSTD_freeCCtx(pointer)
            return nil
        }
        return Context(pointer: pointer)
    }

    /// The library's version as major·10000 + minor·100 + patch. The known-answer vectors pin the
    /// output of one version (FORMAT.md); another may compress differently, which costs dedup between
    /// clients of different versions, never correctness (every version reads every frame).
    static var libraryVersion: Int { Int(ZSTD_versionNumber()) }

    /// The frame magic of RFC 8878 (little-endian 0xFD2FB528): libzstd would also decode the legacy
    /// pre-1.0 formats, which are not part of ours and whose decoders see little use.
    private static let magic: UInt32 = 0xFD2F_B528

    /// Decompresses `input`, which must be exactly one RFC 8878 frame declaring `exactLength` bytes of
    /// content and decoding to them: the length comes from the authenticated manifest, so a hostile
    /// frame cannot make us allocate more, and trailing bytes or a second frame are refused.
    static func decompress(_ input: [UInt8], exactLength: Int) -> [UInt8]? {
        input.withUnsafeBytes { source -> [UInt8]? in
            guard let base = source.baseAddress, source.count >= 4,
                  UInt32(littleEndian: source.loadUnaligned(as: UInt32.self)) == magic,
                  ZSTD_getFrameContentSize(base, source.count) == UInt64(exactLength),
                  ZSTD_findFrameCompressedSize(base, source.count) == source.count
            else { return nil }
            // One spare byte, so the buffer is never empty and any excess output would show.
            var output = [UInt8](repeating: 0, count: exactLength + 1)
            let written = output.withUnsafeMutableBytes { target in
                ZSTD_decompress(target.baseAddress, target.count, base, source.count)
            }
            guard ZSTD_isError(written) == 0, written == exactLength else { return nil }
            output.removeLast()
            return output
        }
    }
}

/// Raw DEFLATE through the system zlib.
enum Deflate {
    static func compress(_ input: UnsafeRawBufferPointer) -> [UInt8]? {
        var stream = z_stream()
        guard deflateInit2_(&stream, 1, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
                            Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))))
        let status = output.withUnsafeMutableBufferPointer { target in
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: UInt8.self))
            stream.avail_in = uInt(input.count)
            stream.next_out = target.baseAddress
            stream.avail_out = uInt(target.count)
            return deflate(&stream, Z_FINISH)
        }
        guard status == Z_STREAM_END else { return nil }
        output.removeLast(output.count - Int(stream.total_out))
        return output
    }

    /// Inflates `input`, which must expand to exactly `exactLength` bytes and end there: the length
    /// comes from the authenticated manifest, so a hostile stream cannot make us allocate more.
    static func decompress(_ input: [UInt8], exactLength: Int) -> [UInt8]? {
        var stream = z_stream()
        guard inflateInit2_(&stream, -15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
        defer { inflateEnd(&stream) }
        // One spare byte reveals output beyond the expected length.
        var output = [UInt8](repeating: 0, count: exactLength + 1)
        let status = input.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
                stream.avail_in = uInt(source.count)
                stream.next_out = target.baseAddress
                stream.avail_out = uInt(target.count)
                return inflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END, stream.avail_in == 0, Int(stream.total_out) == exactLength else { return nil }
        output.removeLast()
        return output
    }
}
