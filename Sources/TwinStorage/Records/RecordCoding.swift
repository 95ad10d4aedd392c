import BinaryCoding
import Convergent
import Foundation

/// Compact binary forms of upload-session records that databases keep as single values, shared by
/// the SQL stores.

/// Binary layout of an upload session's chunk list: per chunk, the 32-byte tag then the size as a
/// big-endian UInt64. Order matters (it is the file's chunk order), so this is a BLOB rather than rows;
/// the tags are also indexed in `upload_session_tags`, which is what garbage collection queries.
package enum ChunkListCoding {
    package static let stride = 40

    package static func encode(_ chunks: [ChunkReference]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(chunks.count * stride)
        for chunk in chunks {
            out.append(contentsOf: chunk.tag.bytes)
            let size = UInt64(chunk.size)
            for shift in Swift.stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: size >> UInt64(shift))) }
        }
        return out
    }

    /// nil when `bytes` is not such a list.
    package static func decode(_ bytes: [UInt8]) -> [ChunkReference]? {
        guard bytes.count % stride == 0 else { return nil }
        var chunks: [ChunkReference] = []
        chunks.reserveCapacity(bytes.count / stride)
        for start in Swift.stride(from: 0, to: bytes.count, by: stride) {
            let size = bytes[start + 32..<start + stride].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            guard size <= UInt64(Int.max) else { return nil }
            chunks.append(ChunkReference(tag: Tag(bytes: bytes[start..<start + 32])!, size: Int(size)))
        }
        return chunks
    }
}

/// `OwnershipChallenge` as bytes: id (32 bytes), expiry in Unix milliseconds (Int64), the session id
/// (UInt32 length, UTF-8), the leaf count (UInt32), then each leaf as chunk and leaf (UInt32 each);
/// all big-endian. Read at every proof, and a batch's challenge has hundreds of leaves, so it is
/// not parsed as JSON on each read.
package enum ChallengeBytes {
    package static func encode(_ challenge: OwnershipChallenge) -> [UInt8] {
        var writer = BinaryWriter(capacity: 52 + challenge.session.utf8.count + 8 * challenge.leaves.count)
        writer.write(raw: challenge.id.bytes)
        writer.write(UInt64(bitPattern: Int64((challenge.expiresAt.timeIntervalSince1970 * 1000).rounded())))
        writer.write(lengthPrefixed: challenge.session)
        writer.write(UInt32(challenge.leaves.count))
        for leaf in challenge.leaves {
            writer.write(UInt32(leaf.chunk))
            writer.write(UInt32(leaf.leaf))
        }
        return writer.bytes
    }

    /// nil when `bytes` is not such an encoding.
    package static func decode(_ bytes: [UInt8]) -> OwnershipChallenge? {
        do {
            var reader = BinaryReader(bytes)
            let id = Digest32(bytes: try reader.read("id", count: 32))!
            let milliseconds = Int64(bitPattern: try reader.readUInt64("expiresAt"))
            let session = try reader.readString("session", maxLength: 1 << 10)
            let count = Int(try reader.readUInt32("count"))
            guard count <= reader.remaining / 8 else { return nil }
            var leaves: [LeafReference] = []
            leaves.reserveCapacity(count)
            for _ in 0..<count {
                leaves.append(LeafReference(chunk: Int(try reader.readUInt32("chunk")), leaf: Int(try reader.readUInt32("leaf"))))
            }
            try reader.finish()
            return OwnershipChallenge(id: id, session: session, leaves: leaves,
                                      expiresAt: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
        } catch {
            return nil
        }
    }
}

/// The store's secret (`MetadataStore.serverSecret`): 32 bytes from the system's CSPRNG.
package enum ServerSecret {
    package static func random() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }
}
