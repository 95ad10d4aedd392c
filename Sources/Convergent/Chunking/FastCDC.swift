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
    /// no dedup, while every chunk costs the same fixed work (a key and a nonce derivation, an AEAD
    /// context, a tag, a manifest entry, an upload request): a 128 KiB average halves that against
    /// 64 KiB. The gear loop is the pipeline's largest cost after the crypto, and it runs only from the
    /// minimum on: with the minimum at 124 KiB and normalization 3 (a 2⁻²⁰ mask up to 128 KiB, 2⁻¹⁴
    /// after) it scans only a small share of each chunk, where a lower minimum with normalization 2
    /// would spend most of its scan in a strict window that seldom cuts. A shifted region still
    /// resynchronises within a chunk or two. The 512 KiB maximum bounds what one pipeline slot holds in
    /// memory and one upload request carries.
    public static let twin = ChunkingParameters(minimumSize: 124 * 1024, averageSize: 128 * 1024,
                                                maximumSize: 512 * 1024, normalization: 3)
}

/// The gear table: 256 fixed pseudo-random words, derived from SHA-256 so anyone can rebuild it.
@usableFromInline
let gearTable: [UInt64] = (0..<256).map { index -> UInt64 in
    let digest = SHA256.hash(data: Array("twin.gear.v1".utf8) + [UInt8(index)])
    return digest.withUnsafeBytes { UInt64(bigEndian: $0.loadUnaligned(as: UInt64.self)) }
}

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
            let bytes = window.bindMemory(to: UInt8.self)
            var hash: UInt64 = 0
            // The masks select top bits, so `hash & mask == 0` is `hash < threshold`. Four bytes per
            // step: each of the four hashes is the old hash shifted plus a sum of table words that does
            // not depend on it, so the loop-carried chain is one shift and one add per four bytes, and
            // one comparison of their minimum tests all four positions (cut points stay those of the
            // byte-at-a-time definition: the first position that passes).
            @inline(__always)
            func scan(from start: Int, to limit: Int, mask: UInt64) -> Int? {
                let threshold = ~mask &+ 1
                var index = start
                while index &+ 4 <= limit {
                    let g0 = gear[Int(bytes[index])], g1 = gear[Int(bytes[index &+ 1])]
                    let g2 = gear[Int(bytes[index &+ 2])], g3 = gear[Int(bytes[index &+ 3])]
                    let p2 = g0 &<< 1 &+ g1
                    let p3 = p2 &<< 1 &+ g2
                    let p4 = p3 &<< 1 &+ g3
                    let h1 = hash &<< 1 &+ g0, h2 = hash &<< 2 &+ p2
                    let h3 = hash &<< 3 &+ p3, h4 = hash &<< 4 &+ p4
                    if min(min(h1, h2), min(h3, h4)) < threshold {
                        if h1 < threshold { return index &+ 1 }
                        if h2 < threshold { return index &+ 2 }
                        if h3 < threshold { return index &+ 3 }
                        return index &+ 4
                    }
                    hash = h4
                    index &+= 4
                }
                while index < limit {
                    hash = hash &<< 1 &+ gear[Int(bytes[index])]
                    index &+= 1
                    if hash < threshold { return index }
                }
                return nil
            }
            if let cut = scan(from: parameters.minimumSize, to: normal, mask: parameters.strictMask) { return cut }
            if let cut = scan(from: normal, to: end, mask: parameters.looseMask) { return cut }
            return end
        }
    }
}
