import BinaryCoding
import Crypto

/// A 32-byte value compared and hashed by content: chunk tags, file tags, content hashes.
/// Four words instead of an array, so sets of millions of tags stay compact and allocation-free.
public struct Digest32: Hashable, Comparable, Sendable, CustomStringConvertible {
    // Big-endian words: lexicographic order of the bytes equals the order of (w0, w1, w2, w3).
    @usableFromInline var w0: UInt64
    @usableFromInline var w1: UInt64
    @usableFromInline var w2: UInt64
    @usableFromInline var w3: UInt64

    public static let byteCount = 32

    /// Builds from exactly 32 bytes; nil for any other length.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 32 else { return nil }
        // Arrays, slices and NIO buffers lend their storage: no per-byte generic iteration (the
        // metadata store decodes every tag of a session through here).
        if let digest = bytes.withContiguousStorageIfAvailable({ Digest32(raw: UnsafeRawBufferPointer($0)) }) {
            self = digest
            return
        }
        var words: [UInt64] = [0, 0, 0, 0]
        for (index, byte) in bytes.enumerated() {
            words[index / 8] = (words[index / 8] << 8) | UInt64(byte)
        }
        (w0, w1, w2, w3) = (words[0], words[1], words[2], words[3])
    }

    @inlinable
    init(raw: UnsafeRawBufferPointer) {
        precondition(raw.count == 32)
        @inline(__always) func word(_ offset: Int) -> UInt64 {
            UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        }
        (w0, w1, w2, w3) = (word(0), word(8), word(16), word(24))
    }

    public init(_ digest: SHA256.Digest) {
        self = digest.withUnsafeBytes { Digest32(raw: $0) }
    }

    /// Parses 64 lowercase or uppercase hex digits.
    public init?(hex: some StringProtocol) {
        guard hex.utf8.count == 64, let bytes = [UInt8](hexString: hex) else { return nil }
        self.init(bytes: bytes)!
    }

    /// The 32 bytes, lent without allocating (Merkle nodes hash millions of these).
    @inlinable
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let bigEndian = (w0.bigEndian, w1.bigEndian, w2.bigEndian, w3.bigEndian)
        return try Swift.withUnsafeBytes(of: bigEndian, body)
    }

    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    public var hex: String { bytes.hexString }
    public var description: String { hex }

    public static func < (lhs: Digest32, rhs: Digest32) -> Bool {
        (lhs.w0, lhs.w1, lhs.w2, lhs.w3) < (rhs.w0, rhs.w1, rhs.w2, rhs.w3)
    }
}

/// A content tag: the Merkle root of a ciphertext (`t_i` of a chunk, `T_M` of a manifest).
public typealias Tag = Digest32

/// Compares two byte strings in time that depends only on their lengths, for secrets (keys, MACs).
public func constantTimeEquals(_ lhs: some Collection<UInt8>, _ rhs: some Collection<UInt8>) -> Bool {
    guard lhs.count == rhs.count else { return false }
    var difference: UInt8 = 0
    for (a, b) in zip(lhs, rhs) { difference |= a ^ b }
    return difference == 0
}

extension BinaryWriter {
    public mutating func write(_ digest: Digest32) { digest.withUnsafeBytes { write(raw: $0) } }
}

extension BinaryReader {
    public mutating func readDigest(_ field: String) throws -> Digest32 {
        Digest32(bytes: try read(field, count: 32))!
    }
}

/// Tags travel in JSON as 64 lowercase hex digits.
extension Digest32: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let value = Digest32(hex: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected 64 hex digits")
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }
}
