/// A chunk as everyone but its encoder knows it: its tag (the Merkle root of its ciphertext) and its
/// ciphertext's size. The one type for this across the layers: clients announce chunks with it,
/// the wire carries it, proofs of ownership are checked over it, and stores keep it.
public struct ChunkReference: Sendable, Equatable, Hashable, Codable {
    public var tag: Tag
    /// Ciphertext size in bytes.
    public var size: Int

    public init(tag: Tag, size: Int) {
        self.tag = tag
        self.size = size
    }
}
