/// # BinaryCoding
///
/// Strict big-endian binary encoding shared by every TwinStore format (manifests, proofs, KP-ABE keys
/// and ciphertexts): fixed-width integers, length-prefixed fields, and a reader that refuses
/// truncation, trailing bytes and oversized lengths, so every decoder accepts one encoding per value.

/// Why a TwinStore binary structure was refused.
public enum BinaryDecodingError: Error, Equatable, Sendable {
    case truncated(field: String)
    case trailingBytes(count: Int)
    case badMagic
    case unsupportedVersion(UInt8)
    case invalidValue(field: String, reason: String)
}

public struct BinaryWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    public mutating func write(_ value: UInt8) { bytes.append(value) }
    public mutating func write(_ value: UInt16) { writeBigEndian(value) }
    public mutating func write(_ value: UInt32) { writeBigEndian(value) }
    public mutating func write(_ value: UInt64) { writeBigEndian(value) }
    public mutating func write(raw: some Sequence<UInt8>) { bytes.append(contentsOf: raw) }

    /// A field of at most 2^16−1 bytes, preceded by its length as UInt16.
    public mutating func write(shortLengthPrefixed field: some Collection<UInt8>) {
        precondition(field.count <= Int(UInt16.max))
        write(UInt16(field.count))
        bytes.append(contentsOf: field)
    }

    /// A field of at most 2^32−1 bytes, preceded by its length as UInt32.
    public mutating func write(lengthPrefixed field: some Collection<UInt8>) {
        precondition(field.count <= Int(UInt32.max))
        write(UInt32(field.count))
        bytes.append(contentsOf: field)
    }

    public mutating func write(lengthPrefixed string: String) {
        write(lengthPrefixed: Array(string.utf8))
    }

    private mutating func writeBigEndian<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }
}

public struct BinaryReader {
    private let bytes: [UInt8]
    public private(set) var offset: Int

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        self.offset = 0
    }

    public var remaining: Int { bytes.count - offset }

    public mutating func read(_ field: String, count: Int) throws -> ArraySlice<UInt8> {
        guard count >= 0, count <= remaining else { throw BinaryDecodingError.truncated(field: field) }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    public mutating func readUInt8(_ field: String) throws -> UInt8 { try read(field, count: 1).first! }
    public mutating func readUInt16(_ field: String) throws -> UInt16 { try readBigEndian(field) }
    public mutating func readUInt32(_ field: String) throws -> UInt32 { try readBigEndian(field) }
    public mutating func readUInt64(_ field: String) throws -> UInt64 { try readBigEndian(field) }

    /// A UInt32-length-prefixed field, refused when longer than `maxLength`.
    public mutating func readLengthPrefixed(_ field: String, maxLength: Int) throws -> [UInt8] {
        let length = Int(try readUInt32(field))
        guard length <= maxLength else {
            throw BinaryDecodingError.invalidValue(field: field, reason: "length \(length) exceeds \(maxLength)")
        }
        return Array(try read(field, count: length))
    }

    /// A UInt16-length-prefixed field, refused when longer than `maxLength`.
    public mutating func readShortLengthPrefixed(_ field: String, maxLength: Int) throws -> [UInt8] {
        let length = Int(try readUInt16(field))
        guard length <= maxLength else {
            throw BinaryDecodingError.invalidValue(field: field, reason: "length \(length) exceeds \(maxLength)")
        }
        return Array(try read(field, count: length))
    }

    /// Reads exactly `magic`, then a version byte that must equal `version`.
    public mutating func readHeader(magic: [UInt8], version: UInt8) throws {
        guard try read("magic", count: magic.count).elementsEqual(magic) else { throw BinaryDecodingError.badMagic }
        let found = try readUInt8("version")
        guard found == version else { throw BinaryDecodingError.unsupportedVersion(found) }
    }

    /// A length-prefixed field that must be valid UTF-8.
    public mutating func readString(_ field: String, maxLength: Int) throws -> String {
        let raw = try readLengthPrefixed(field, maxLength: maxLength)
        guard let string = String(validating: raw, as: UTF8.self) else {
            throw BinaryDecodingError.invalidValue(field: field, reason: "not UTF-8")
        }
        return string
    }

    /// Succeeds only when every byte was consumed: a strict decoder accepts one encoding per value.
    public func finish() throws {
        guard remaining == 0 else { throw BinaryDecodingError.trailingBytes(count: remaining) }
    }

    private mutating func readBigEndian<T: FixedWidthInteger>(_ field: String) throws -> T {
        let slice = try read(field, count: MemoryLayout<T>.size)
        return slice.reduce(T.zero) { ($0 << 8) | T($1) }
    }
}

// MARK: Hexadecimal, for names, logs and test vectors (BLS12381 keeps its own `Hex`: that module
// depends on nothing but swift-crypto).

extension Array where Element == UInt8 {
    /// Parses an even number of hex digits.
    public init?(hexString: some StringProtocol) {
        let utf8 = Array<UInt8>(hexString.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        @inline(__always) func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count / 2)
        var index = 0
        while index < utf8.count {
            guard let high = nibble(utf8[index]), let low = nibble(utf8[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        self = out
    }
}

extension Sequence where Element == UInt8 {
    /// Lowercase hex.
    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
