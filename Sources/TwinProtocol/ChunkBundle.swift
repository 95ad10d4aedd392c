import Convergent

/// The body of `POST /v1/uploads/{id}/chunks`: several chunk ciphertexts in one request, so that a
/// batch's missing chunks cost a few requests rather than one each. Each record is
/// `tag (32 bytes) || length (UInt32, big-endian) || ciphertext (length bytes)`, back to back, with
/// nothing after the last.
public enum ChunkBundle {
    public static let recordHeaderSize = 36

    public enum DecodingError: Error, Equatable, Sendable {
        /// The body ends inside a record's header or ciphertext.
        case truncated(offset: Int)
    }

    /// A record's header.
    public static func header(tag: Tag, length: Int) -> [UInt8] {
        precondition(length >= 0 && length <= Int(UInt32.max))
        return tag.bytes + withUnsafeBytes(of: UInt32(length).bigEndian, Array.init)
    }

    /// Each record's tag and the range of its ciphertext in `bytes`, in order.
    public static func records(in bytes: UnsafeRawBufferPointer) throws(DecodingError) -> [(tag: Tag, range: Range<Int>)] {
        var records: [(tag: Tag, range: Range<Int>)] = []
        var offset = 0
        while offset < bytes.count {
            guard bytes.count - offset >= recordHeaderSize else { throw .truncated(offset: offset) }
            let tag = Tag(bytes: Array(bytes[offset..<offset + 32]))!
            let length = bytes[offset + 32..<offset + 36].reduce(0) { $0 << 8 | Int($1) }
            let start = offset + recordHeaderSize
            guard bytes.count - start >= length else { throw .truncated(offset: offset) }
            records.append((tag, start..<start + length))
            offset = start + length
        }
        return records
    }
}
