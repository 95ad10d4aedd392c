import Crypto

/// Chunk-size bounds for content-defined chunking, with the masks of normalized FastCDC
/// (Xia et al., USENIX ATC 2016): a stricter mask before the average size and a looser one after it
/// concentrate chunk sizes around the average.
public struct ChunkingParameters: Sendable, Equatable {
    public let minimumSize: Int
    public let averageSize: Int
    public let maximumSize: Int
    /// Metadata segments smaller than this share a chunk with their small neighbours: a chunk costs
    /// ~90 bytes of manifest, tag and index whatever its size, so one per 20-byte DHT would be waste.
    public let smallSegmentSize: Int
    @usableFromInline let strictMask: UInt64
    @usableFromInline let looseMask: UInt64

    /// - Parameter normalization: how many bits the two masks differ from log2(average) by.
    public init(minimumSize: Int, averageSize: Int, maximumSize: Int, smallSegmentSize: Int = 1024,
                normalization: Int = 2) {
        precondition(averageSize.nonzeroBitCount == 1, "average size must be a power of two")
        precondition(0 < minimumSize && minimumSize < averageSize && averageSize < maximumSize)
        self.minimumSize = minimumSize
        self.averageSize = averageSize
        self.maximumSize = maximumSize
        self.smallSegmentSize = smallSegmentSize
        let bits = averageSize.trailingZeroBitCount
        // Masks test the top bits of the gear hash: bit 63 depends on the last 64 bytes, so the
        // decision sees a wide window, unlike the low bits, which see only the last few bytes.
        strictMask = ~UInt64(0) << UInt64(64 - (bits + normalization))
        looseMask = ~UInt64(0) << UInt64(64 - (bits - normalization))
    }

    /// TwinStore's chunking, part of the storage format (changing it changes every tag).
    ///
    /// Images share whole regions (the scan, the IDAT run), seldom parts of them, so small chunks buy
    /// no dedup: a 64 KiB average keeps per-chunk overhead near 0.15 % and requests few. The minimum
    /// at half the average lets the gear hash skip half of every chunk (it is the chunker's main cost);
    /// the 256 KiB maximum bounds what one pipeline slot holds in memory and one upload request carries.
    public static let twin = ChunkingParameters(minimumSize: 32 * 1024, averageSize: 64 * 1024,
                                                maximumSize: 256 * 1024)
}

/// The gear table: 256 fixed pseudo-random words, derived from SHA-256 so anyone can rebuild it.
@usableFromInline
let gearTable: [UInt64] = (0..<256).map { index -> UInt64 in
    let digest = SHA256.hash(data: Array("twin.gear.v1".utf8) + [UInt8(index)])
    return digest.withUnsafeBytes { UInt64(bigEndian: $0.loadUnaligned(as: UInt64.self)) }
}

/// `gearTable[b] << 1`, for advancing the hash two bytes per step.
@usableFromInline
let gearTableShifted: [UInt64] = gearTable.map { $0 << 1 }

enum FastCDC {
    /// The length of the next chunk at the start of `window`, where `window` ends at a forced
    /// boundary, the end of the stream, or `maximumSize` bytes ahead, whichever comes first.
    @inlinable
    static func cut(_ window: UnsafeRawBufferPointer, _ parameters: ChunkingParameters) -> Int {
        let length = window.count
        if length <= parameters.minimumSize { return length }
        let end = min(length, parameters.maximumSize)
        let normal = min(end, parameters.averageSize)
        return gearTable.withUnsafeBufferPointer { gear in
            gearTableShifted.withUnsafeBufferPointer { gearShifted in
                let bytes = window.bindMemory(to: UInt8.self)
                var hash: UInt64 = 0
                // Two bytes per step halve the length of the shift-add dependency chain; each step
                // tests the hash at both byte positions, so cut points are those of the one-byte loop.
                @inline(__always)
                func scan(from start: Int, to limit: Int, mask: UInt64) -> Int? {
                    var index = start
                    while index + 1 < limit {
                        let first = hash &<< 1 &+ gear[Int(bytes[index])]
                        if first & mask == 0 { hash = first; return index + 1 }
                        hash = (hash &<< 2) &+ gearShifted[Int(bytes[index])] &+ gear[Int(bytes[index + 1])]
                        if hash & mask == 0 { return index + 2 }
                        index += 2
                    }
                    if index < limit {
                        hash = hash &<< 1 &+ gear[Int(bytes[index])]
                        if hash & mask == 0 { return index + 1 }
                    }
                    return nil
                }
                if let cut = scan(from: parameters.minimumSize, to: normal, mask: parameters.strictMask) { return cut }
                if let cut = scan(from: normal, to: end, mask: parameters.looseMask) { return cut }
                return end
            }
        }
    }
}
