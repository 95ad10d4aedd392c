import Crypto
import Foundation

/// The SHA-256 Merkle tree over a ciphertext that serves both as its content tag and as the
/// commitment a proof of ownership opens.
///
/// - Leaves are the ciphertext cut into `leafSize` pieces (the last may be shorter; a ciphertext always
///   has at least the 16-byte AEAD tag, so at least one leaf).
/// - `leaf = SHA-256(0x00 || piece)`, `node = SHA-256(0x01 || left || right)`: the prefixes keep a
///   leaf from ever being taken for a node (second-preimage defence, as RFC 6962 §2.1).
/// - Level by level, pairs are hashed left to right; an odd last node is promoted unchanged (never
///   duplicated, which would let two leaf lists share a root).
///
/// 4 KiB leaves: SHA-256 pads a 4096-byte message to 65 blocks anyway, so the 0x00 prefix costs
/// nothing, and inner nodes add 2 blocks per 64, so the tag costs little more than one plain hash of
/// the data. Smaller leaves would shrink ownership proofs but slow every upload.
public enum MerkleTree {
    public static let leafSize = 4096

    public static func leafCount(ciphertextLength: Int) -> Int {
        max(1, (ciphertextLength + leafSize - 1) / leafSize)
    }

    @inlinable
    static func hashLeaf(_ piece: UnsafeRawBufferPointer) -> Digest32 {
        var hasher = SHA256()
        withUnsafeBytes(of: UInt8(0)) { hasher.update(bufferPointer: $0) }
        hasher.update(bufferPointer: piece)
        return Digest32(hasher.finalize())
    }

    static func hashNode(_ left: Digest32, _ right: Digest32) -> Digest32 {
        // One update of the 65 bytes laid out on the stack, not three: each call into the hasher costs
        // about as much as the block it hashes (exclusivity checks, the context's copy-on-write test),
        // and a chunk has as many nodes as leaves. Nine big-endian words, the first 1: its last byte
        // (offset 7) is the 0x01 prefix, so bytes 7..<72 are exactly 0x01 || left || right.
        let node = (UInt64(1).bigEndian, left.w0.bigEndian, left.w1.bigEndian, left.w2.bigEndian, left.w3.bigEndian,
                    right.w0.bigEndian, right.w1.bigEndian, right.w2.bigEndian, right.w3.bigEndian)
        return withUnsafeBytes(of: node) { raw in
            var hasher = SHA256()
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: raw[7..<72]))
            return Digest32(hasher.finalize())
        }
    }

    /// The root: the tag of `ciphertext`.
    public static func root(of ciphertext: [UInt8]) -> Tag {
        root(leafHashes: leafHashes(ciphertext))
    }

    static func root(leafHashes: [Digest32]) -> Tag {
        var level = leafHashes
        while level.count > 1 { level = parents(of: level) }
        return level[0]
    }

    static func leafHashes(_ ciphertext: [UInt8]) -> [Digest32] {
        ciphertext.withUnsafeBytes(leafHashes)
    }

    static func leafHashes(_ raw: UnsafeRawBufferPointer) -> [Digest32] {
        (0..<leafCount(ciphertextLength: raw.count)).map { index in
            let start = index * leafSize
            return hashLeaf(UnsafeRawBufferPointer(rebasing: raw[start..<min(raw.count, start + leafSize)]))
        }
    }

    static func parents(of level: [Digest32]) -> [Digest32] {
        stride(from: 0, to: level.count, by: 2).map { index in
            index + 1 < level.count ? hashNode(level[index], level[index + 1]) : level[index]
        }
    }

    /// The sibling hashes from leaf `index` up to the root, skipping levels where the node is promoted.
    public static func path(in ciphertext: [UInt8], leaf index: Int) -> [Digest32] {
        paths(in: ciphertext, leaves: [index])[0]
    }

    /// The paths of several leaves of one ciphertext, hashing the tree once.
    public static func paths(in ciphertext: [UInt8], leaves indices: [Int]) -> [[Digest32]] {
        paths(leafHashes: leafHashes(ciphertext), leaves: indices)
    }

    /// The paths of several leaves of the tree over `leafHashes`.
    static func paths(leafHashes: [Digest32], leaves indices: [Int]) -> [[Digest32]] {
        var levels = [leafHashes]
        while levels.last!.count > 1 { levels.append(parents(of: levels.last!)) }
        return indices.map { index in
            precondition(levels[0].indices.contains(index))
            var position = index
            var siblings: [Digest32] = []
            for level in levels.dropLast() {
                if position ^ 1 < level.count { siblings.append(level[position ^ 1]) }
                position /= 2
            }
            return siblings
        }
    }

    /// The number of siblings on the path of leaf `index` in a tree of `leafCount` leaves.
    public static func pathLength(leaf index: Int, leafCount: Int) -> Int {
        var count = leafCount, position = index, length = 0
        while count > 1 {
            if position ^ 1 < count { length += 1 }
            count = (count + 1) / 2
            position /= 2
        }
        return length
    }

    /// Whether `piece` is leaf `index` of the ciphertext of `ciphertextLength` bytes with root `root`.
    public static func verify(piece: [UInt8], leaf index: Int, path: [Digest32], root: Tag,
                              ciphertextLength: Int) -> Bool {
        let leafCount = leafCount(ciphertextLength: ciphertextLength)
        guard index >= 0, index < leafCount else { return false }
        let expectedSize = index == leafCount - 1 ? ciphertextLength - index * leafSize : leafSize
        guard piece.count == expectedSize, path.count == pathLength(leaf: index, leafCount: leafCount) else {
            return false
        }
        var node = piece.withUnsafeBytes(hashLeaf)
        var count = leafCount, position = index
        var siblings = path.makeIterator()
        while count > 1 {
            if position ^ 1 < count {
                let sibling = siblings.next()!
                node = position & 1 == 0 ? hashNode(node, sibling) : hashNode(sibling, node)
            }
            count = (count + 1) / 2
            position /= 2
        }
        return node == root
    }
}

/// A chunk ciphertext with the leaf hashes of its Merkle tree: computed once when the tag is, and
/// kept (32 bytes per 4 KiB) so that answering a proof of ownership does not hash the chunk again.
/// A chunk the pipeline seals stays in the buffer the AEAD wrote: copying it out would be one more
/// pass over every ciphertext byte.
public struct HashedCiphertext: Sendable {
    private let storage: Data
    /// The ciphertext's length in bytes.
    public var count: Int { storage.count }
    public let tag: Tag
    let leafHashes: [Digest32]

    public init(_ bytes: [UInt8]) {
        self.init(storage: Data(bytes))
    }

    init(storage: Data) {
        self.storage = storage
        leafHashes = storage.withUnsafeBytes(MerkleTree.leafHashes)
        tag = MerkleTree.root(leafHashes: leafHashes)
    }

    /// Lends the ciphertext's bytes.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try storage.withUnsafeBytes(body)
    }

    /// A copy of the ciphertext.
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }
}
