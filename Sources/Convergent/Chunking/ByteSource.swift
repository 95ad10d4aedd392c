#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the chunker pulls bytes from. Sources are read front to back exactly once, so a file of any
/// size passes through a fixed-size buffer.
public protocol ByteSource {
    /// Fills up to `buffer.count` bytes and returns how many; 0 means the end of the stream.
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int

    /// The rest of the stream as one array, for a source that already holds it in memory, or nil.
    /// The chunker then cuts the array where it lies instead of copying every byte through its
    /// buffer; it calls this at most once, before any read.
    mutating func takeRemainingBytes() -> [UInt8]?
}

extension ByteSource {
    public mutating func takeRemainingBytes() -> [UInt8]? { nil }

    /// Reads until `buffer` is full or the stream ends; returns how many bytes it holds (fewer than
    /// `buffer.count` only at the end of the stream).
    public mutating func fill(_ buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var filled = 0
        while filled < buffer.count {
            let count = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
            if count == 0 { break }
            filled += count
        }
        return filled
    }
}

/// An in-memory source, for tests and small payloads.
public struct MemoryByteSource: ByteSource {
    private let bytes: [UInt8]
    private var offset = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = min(buffer.count, bytes.count - offset)
        guard count > 0 else { return 0 }
        bytes.withUnsafeBytes { source in
            buffer.baseAddress!.copyMemory(from: source.baseAddress! + offset, byteCount: count)
        }
        offset += count
        return count
    }

    public mutating func takeRemainingBytes() -> [UInt8]? {
        defer { offset = bytes.count }
        return offset == 0 ? bytes : Array(bytes[offset...])
    }
}

public struct FileIOError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let operation: String
    public let code: Int32
    public var description: String { "\(operation) \(path): \(String(cString: strerror(code)))" }
}

/// A file read with plain POSIX reads: no mapping, so memory stays bounded whatever the file size.
/// A class so the descriptor is closed exactly once, when the last copy goes away.
public final class FileByteSource: ByteSource {
    private let descriptor: Int32
    public let path: String

    public init(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileIOError(path: path, operation: "open", code: errno) }
        self.descriptor = fd
        self.path = path
    }

    deinit { close(descriptor) }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let count = Glibc.read(descriptor, buffer.baseAddress, buffer.count)
            if count >= 0 { return count }
            if errno == EINTR { continue }
            throw FileIOError(path: path, operation: "read", code: errno)
        }
    }
}
