import BinaryCoding
import Crypto
import Foundation
import Synchronization

/// Merkle-tree proof of ownership (Halevi, Harnik, Pinkas, Shulman-Peleg, CCS 2011, in the form
/// DESIGN.md gives it): to claim content the server already holds, a client opens randomly chosen
/// leaves of the chunk ciphertexts' Merkle trees. Tags alone prove nothing: a leaf of `c_i` needs
/// `k_i`, and `k_i` needs all of `m_i`.

/// One leaf of one chunk of a file.
public struct LeafReference: Hashable, Sendable, Comparable {
    public var chunk: Int
    public var leaf: Int

    public init(chunk: Int, leaf: Int) {
        self.chunk = chunk
        self.leaf = leaf
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { (lhs.chunk, lhs.leaf) < (rhs.chunk, rhs.leaf) }
}

extension ChunkReference {
    /// Leaves of the chunk's Merkle tree: what a challenge may open.
    var leafCount: Int { MerkleTree.leafCount(ciphertextLength: size) }
}

/// How hard a challenge is.
public struct OwnershipPolicy: Sendable {
    /// A prover missing part of the content passes with probability at most `heldFraction^count`:
    /// each challenged leaf is distinct and uniform, and a leaf it lacks it can only guess (2^-256).
    public var soundnessBits: Int
    /// The share of the leaves a cheating prover is assumed to hold.
    public var heldFraction: Double
    public var lifetime: Duration

    public init(soundnessBits: Int = 64, heldFraction: Double = 0.5, lifetime: Duration = .seconds(600)) {
        precondition(heldFraction > 0 && heldFraction < 1)
        self.soundnessBits = soundnessBits
        self.heldFraction = heldFraction
        self.lifetime = lifetime
    }

    /// 2^-64 against a prover holding half the leaves: 64 leaves.
    public static let standard = OwnershipPolicy()

    /// The number of distinct leaves to challenge: the least c with heldFraction^c ≤ 2^-soundnessBits.
    public var leafCount: Int {
        Int((Double(soundnessBits) / -log2(heldFraction)).rounded(.up))
    }
}

/// A fresh challenge: which leaves to open, for which session, until when.
public struct OwnershipChallenge: Sendable, Equatable {
    public var id: Digest32
    public var session: String
    public var leaves: [LeafReference]
    public var expiresAt: Date

    public init(id: Digest32, session: String, leaves: [LeafReference], expiresAt: Date) {
        self.id = id
        self.session = session
        self.leaves = leaves
        self.expiresAt = expiresAt
    }

    /// Draws, from the system's CSPRNG, `policy.leafCount` distinct leaves uniformly over all leaves
    /// of `chunks` (all of them when there are fewer), and one uniform leaf in every chunk: leaves
    /// drawn over the whole only would let a small chunk escape every challenge, so a prover could
    /// claim a file while missing one of its chunks entirely.
    public static func make(over chunks: [ChunkReference], session: String, policy: OwnershipPolicy = .standard,
                            now: Date = Date()) -> OwnershipChallenge {
        var generator = SystemRandomNumberGenerator()
        return make(over: chunks, session: session, policy: policy, now: now, using: &generator)
    }

    static func make(over chunks: [ChunkReference], session: String, policy: OwnershipPolicy, now: Date,
                     using generator: inout some RandomNumberGenerator) -> OwnershipChallenge {
        let total = chunks.reduce(0) { $0 + $1.leafCount }
        let count = min(total, policy.leafCount)
        // Floyd's algorithm: `count` distinct values out of 0..<total in `count` draws.
        var chosen = Set<Int>()
        for upper in (total - count)..<total {
            let pick = Int.random(in: 0...upper, using: &generator)
            chosen.insert(chosen.contains(pick) ? upper : pick)
        }
        var leaves = Set<LeafReference>()
        var first = 0
        for (chunkIndex, chunk) in chunks.enumerated() {
            for global in chosen where global >= first && global < first + chunk.leafCount {
                leaves.insert(LeafReference(chunk: chunkIndex, leaf: global - first))
            }
            leaves.insert(LeafReference(chunk: chunkIndex, leaf: Int.random(in: 0..<chunk.leafCount, using: &generator)))
            first += chunk.leafCount
        }
        var idBytes = [UInt8](repeating: 0, count: 32)
        for index in idBytes.indices { idBytes[index] = UInt8.random(in: .min ... .max, using: &generator) }
        let lifetime = Double(policy.lifetime.components.seconds)
        return OwnershipChallenge(id: Digest32(bytes: idBytes)!, session: session, leaves: leaves.sorted(),
                                  expiresAt: now.addingTimeInterval(lifetime))
    }
}

/// The prover's answer: each challenged leaf with its Merkle path.
public struct OwnershipProof: Sendable, Equatable {
    public struct Opening: Sendable, Equatable {
        public var reference: LeafReference
        public var piece: [UInt8]
        public var path: [Digest32]

        public init(reference: LeafReference, piece: [UInt8], path: [Digest32]) {
            self.reference = reference
            self.piece = piece
            self.path = path
        }
    }

    public var challengeID: Digest32
    public var openings: [Opening]

    /// Answers `challenge` from the chunk ciphertexts (by chunk index), fetching and hashing each
    /// challenged chunk once (leaves come sorted by chunk).
    public static func answer(_ challenge: OwnershipChallenge,
                              ciphertext: (Int) async throws -> [UInt8]) async throws -> OwnershipProof {
        try await answer(challenge, chunk: { HashedCiphertext(try await ciphertext($0)) })
    }

    /// Answers `challenge` from chunks whose trees are hashed already, fetching each challenged one once.
    public static func answer(_ challenge: OwnershipChallenge,
                              chunk: (Int) async throws -> HashedCiphertext) async throws -> OwnershipProof {
        var openings: [Opening] = []
        var start = 0
        let leaves = challenge.leaves
        while start < leaves.count {
            let index = leaves[start].chunk
            var end = start
            while end < leaves.count, leaves[end].chunk == index { end += 1 }
            let hashed = try await chunk(index)
            let group = leaves[start..<end]
            for reference in group where reference.leaf < 0 || reference.leaf >= MerkleTree.leafCount(ciphertextLength: hashed.count) {
                throw OwnershipError.leafOutOfRange(reference)
            }
            let paths = MerkleTree.paths(leafHashes: hashed.leafHashes, leaves: group.map(\.leaf))
            hashed.withUnsafeBytes { bytes in
                for (reference, path) in zip(group, paths) {
                    let offset = reference.leaf * MerkleTree.leafSize
                    openings.append(Opening(reference: reference,
                                            piece: Array(bytes[offset..<min(bytes.count, offset + MerkleTree.leafSize)]), path: path))
                }
            }
            start = end
        }
        return OwnershipProof(challengeID: challenge.id, openings: openings)
    }

    // Encoding (version 1): "TWPO" | 0x01 | challenge id[32] | u32 n |
    //   n × (u32 chunk | u32 leaf | u32 len | piece | u8 path length | path × 32 bytes)
    static let magic = Array("TWPO".utf8)
    static let version: UInt8 = 1
    public static let maximumOpenings = 4096

    public func encoded() -> [UInt8] {
        // Sized up front: a batch's proof runs to megabytes, and growing it would copy it several times.
        var writer = BinaryWriter(capacity: Self.magic.count + 37 + openings.reduce(0) { $0 + 13 + $1.piece.count + 32 * $1.path.count })
        writer.write(raw: Self.magic)
        writer.write(Self.version)
        writer.write(challengeID)
        writer.write(UInt32(openings.count))
        for opening in openings {
            writer.write(UInt32(opening.reference.chunk))
            writer.write(UInt32(opening.reference.leaf))
            writer.write(lengthPrefixed: opening.piece)
            writer.write(UInt8(opening.path.count))
            for node in opening.path { writer.write(node) }
        }
        return writer.bytes
    }

    public init(challengeID: Digest32, openings: [Opening]) {
        self.challengeID = challengeID
        self.openings = openings
    }

    public init(decoding bytes: [UInt8]) throws {
        var reader = BinaryReader(bytes)
        try reader.readHeader(magic: Self.magic, version: Self.version)
        challengeID = try reader.readDigest("challenge id")
        let count = Int(try reader.readUInt32("opening count"))
        guard count <= Self.maximumOpenings else {
            throw BinaryDecodingError.invalidValue(field: "opening count", reason: "\(count) > \(Self.maximumOpenings)")
        }
        openings = []
        for _ in 0..<count {
            let chunk = Int(try reader.readUInt32("chunk index"))
            let leaf = Int(try reader.readUInt32("leaf index"))
            let piece = try reader.readLengthPrefixed("leaf", maxLength: MerkleTree.leafSize)
            let pathLength = Int(try reader.readUInt8("path length"))
            var path: [Digest32] = []
            for _ in 0..<pathLength { path.append(try reader.readDigest("path node")) }
            openings.append(Opening(reference: LeafReference(chunk: chunk, leaf: leaf), piece: piece, path: path))
        }
        try reader.finish()
    }
}

/// Why a proof of ownership was refused.
public enum OwnershipError: Error, Equatable, Sendable {
    case unknownChallenge
    case expired
    case sessionMismatch
    /// The proof opens other leaves than the ones challenged.
    case leavesDoNotMatchChallenge
    /// A leaf or its path does not lead to the chunk's tag.
    case invalidOpening(LeafReference)
    case leafOutOfRange(LeafReference)
}

extension OwnershipChallenge {
    /// Checks `proof` against the held chunks' roots. Pure: expiry and single use are the registry's.
    public func verify(_ proof: OwnershipProof, chunks: [ChunkReference]) throws {
        guard proof.challengeID == id else { throw OwnershipError.unknownChallenge }
        guard proof.openings.map(\.reference) == leaves else { throw OwnershipError.leavesDoNotMatchChallenge }
        for opening in proof.openings {
            let reference = opening.reference
            guard chunks.indices.contains(reference.chunk) else { throw OwnershipError.leafOutOfRange(reference) }
            let chunk = chunks[reference.chunk]
            guard MerkleTree.verify(piece: opening.piece, leaf: reference.leaf, path: opening.path,
                                    root: chunk.tag, ciphertextLength: chunk.size) else {
                throw OwnershipError.invalidOpening(reference)
            }
        }
    }
}

/// Outstanding challenges, each redeemable once, by its own session, before it expires. A redeemed
/// challenge is gone whether the proof passed or not, so a prover cannot retry against one challenge.
public final class OwnershipChallengeRegistry: Sendable {
    private struct Pending: Sendable {
        var challenge: OwnershipChallenge
        var chunks: [ChunkReference]
    }

    private let pending = Mutex<[Digest32: Pending]>([:])
    public let policy: OwnershipPolicy

    public init(policy: OwnershipPolicy = .standard) { self.policy = policy }

    public func issue(over chunks: [ChunkReference], session: String, now: Date = Date()) -> OwnershipChallenge {
        let challenge = OwnershipChallenge.make(over: chunks, session: session, policy: policy, now: now)
        pending.withLock { table in
            table = table.filter { $0.value.challenge.expiresAt > now }
            table[challenge.id] = Pending(challenge: challenge, chunks: chunks)
        }
        return challenge
    }

    public func redeem(_ proof: OwnershipProof, session: String, now: Date = Date()) throws {
        guard let entry = pending.withLock({ $0.removeValue(forKey: proof.challengeID) }) else {
            throw OwnershipError.unknownChallenge
        }
        guard entry.challenge.session == session else { throw OwnershipError.sessionMismatch }
        guard now < entry.challenge.expiresAt else { throw OwnershipError.expired }
        try entry.challenge.verify(proof, chunks: entry.chunks)
    }

    public var outstanding: Int { pending.withLock { $0.count } }
}
