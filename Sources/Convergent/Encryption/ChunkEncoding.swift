import CZlib

/// How a chunk's plaintext is represented before encryption.
///
/// Metadata compresses well (XMP is verbose XML: a Photoshop file can carry megabytes of it) while
/// pixel data is already compressed, so only metadata chunks are tried, and kept deflated only when
/// that saves at least an eighth. The choice is a pure function of the bytes and their region kind, so
/// every client makes the same one and identical chunks still dedup.
public enum ChunkEncoding: UInt8, Sendable, Equatable {
    case stored = 0
    /// Raw DEFLATE (RFC 1951), zlib level 1: a third of level 6's time for 7 % more bytes on XMP.
    /// Its exact output is part of the format; the known-answer vectors pin it (a zlib emitting
    /// different bytes would only cost dedup, never correctness).
    case deflate = 1

    /// Each encoding seals under its own nonce: one convergent key may encrypt both representations of
    /// one plaintext, and GCM must never see one (key, nonce) pair with two different messages.
    var nonceLabel: [UInt8] {
        switch self {
        case .stored: Label.chunkNonce
        case .deflate: Label.chunkNonce + Array(".deflate".utf8)
        }
    }

    static let minimumCompressibleLength = 64

    /// The representation to encrypt for `plaintext` of region kind `kind`.
    static func encode(_ plaintext: [UInt8], kind: RegionKind) -> (ChunkEncoding, [UInt8]) {
        let (encoding, deflated) = plaintext.withUnsafeBytes { choose(for: $0, kind: kind) }
        return (encoding, deflated ?? plaintext)
    }

    /// The encoding for `plaintext` of region kind `kind`, with the deflated bytes when it is
    /// `.deflate`; a stored chunk is sealed from wherever it already lies.
    static func choose(for plaintext: UnsafeRawBufferPointer, kind: RegionKind) -> (ChunkEncoding, deflated: [UInt8]?) {
        guard kind == .metadata, plaintext.count >= minimumCompressibleLength,
              let deflated = Deflate.compress(plaintext),
              deflated.count <= plaintext.count - plaintext.count / 8
        else { return (.stored, nil) }
        return (.deflate, deflated)
    }

    /// The plaintext of `representation`, which must be exactly `length` bytes.
    func decode(_ representation: [UInt8], length: Int) throws -> [UInt8] {
        switch self {
        case .stored:
            guard representation.count == length else {
                throw IntegrityError.lengthMismatch(expected: length, actual: representation.count)
            }
            return representation
        case .deflate:
            guard let plaintext = Deflate.decompress(representation, exactLength: length) else {
                throw IntegrityError.malformedEncoding
            }
            return plaintext
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
