import Convergent
import Foundation
import Testing

@Suite("Proof of ownership")
struct OwnershipTests {
    /// A file the server holds: its chunk ciphertexts and what the verifier knows of them.
    struct Held {
        var ciphertexts: [[UInt8]]
        var chunks: [ChunkReference]

        init(seed: String = "pow", length: Int = 700_000) async throws {
            let (file, store) = try await encode(testStream(seed, count: length))
            ciphertexts = file.chunkTags.map { store[$0]! }
            chunks = zip(file.chunkTags, ciphertexts).map { ChunkReference(tag: $0, size: $1.count) }
        }

        func answer(_ challenge: OwnershipChallenge) async throws -> OwnershipProof {
            try await OwnershipProof.answer(challenge) { ciphertexts[$0] }
        }
    }

    @Test("the policy turns the soundness target into a leaf count")
    func policy() {
        #expect(OwnershipPolicy.standard.leafCount == 64)
        #expect(OwnershipPolicy(soundnessBits: 64, heldFraction: 0.9).leafCount == 422)  // 0.9^422 < 2^-64
        #expect(pow(0.9, 422.0) <= pow(2, -64.0) && pow(0.9, 421.0) > pow(2, -64.0))
    }

    @Test("answers from chunks hashed at encoding equal answers that hash the ciphertexts again")
    func answerFromHashedChunks() async throws {
        let held = try await Held()
        var sealed: [HashedCiphertext] = []
        _ = try await ConvergentEncoder().encode(MemoryByteSource(testStream("pow", count: 700_000))) { sealed.append($0.sealed) }
        #expect(sealed.map(\.bytes) == held.ciphertexts)
        #expect(sealed.map(\.tag) == held.chunks.map(\.tag))
        let challenge = OwnershipChallenge.make(over: held.chunks, session: "s")
        let proof = try await OwnershipProof.answer(challenge, chunk: { sealed[$0] })
        #expect(proof == (try await held.answer(challenge)))
        #expect((try? challenge.verify(proof, chunks: held.chunks)) != nil)
    }

    @Test("challenges are fresh, distinct, sorted, in range and of the policy's size")
    func challengeShape() async throws {
        let held = try await Held()
        let first = OwnershipChallenge.make(over: held.chunks, session: "s")
        let second = OwnershipChallenge.make(over: held.chunks, session: "s")
        #expect(first.id != second.id)
        #expect(first.leaves != second.leaves)
        // The policy's 64 uniform leaves, and one more in each chunk those missed.
        #expect((64...64 + held.chunks.count).contains(first.leaves.count) && Set(first.leaves).count == first.leaves.count)
        #expect(Set(first.leaves.map(\.chunk)) == Set(held.chunks.indices))
        #expect(first.leaves == first.leaves.sorted())
        for leaf in first.leaves {
            #expect(leaf.leaf < MerkleTree.leafCount(ciphertextLength: held.chunks[leaf.chunk].size))
        }
        // A tiny file has fewer leaves than the policy asks: all are challenged.
        let tiny = try await Held(seed: "tiny", length: 10_000)
        #expect(OwnershipChallenge.make(over: tiny.chunks, session: "s").leaves.count == 3)
    }

    /// Issue 19: with leaves drawn only over the whole file, a one-leaf chunk beside 1,280 others
    /// escaped 95 % of challenges, so a prover lacking it passed. Every chunk now gets a leaf.
    @Test("a small chunk never escapes the challenge: a prover lacking it always fails")
    func smallChunkIsAlwaysChallenged() async throws {
        let held = try await Held(seed: "big", length: 5_000_000)
        let small = try await Held(seed: "small", length: 1_000)
        let chunks = held.chunks + small.chunks
        let ciphertexts = held.ciphertexts + small.ciphertexts
        #expect(small.chunks.count == 1 && MerkleTree.leafCount(ciphertextLength: small.chunks[0].size) == 1)
        for _ in 0..<500 {
            let challenge = OwnershipChallenge.make(over: chunks, session: "s")
            #expect(challenge.leaves.contains { $0.chunk == chunks.count - 1 })
            // The prover has every byte but the small chunk's.
            let proof = try await OwnershipProof.answer(challenge) { index in
                index == chunks.count - 1 ? [UInt8](repeating: 0, count: ciphertexts[index].count) : ciphertexts[index]
            }
            #expect(throws: (any Error).self) { try challenge.verify(proof, chunks: chunks) }
        }
    }

    @Test("a valid proof is accepted, once")
    func validProof() async throws {
        let held = try await Held()
        let registry = OwnershipChallengeRegistry()
        let challenge = registry.issue(over: held.chunks, session: "alice")
        let proof = try await held.answer(challenge)
        try registry.redeem(try OwnershipProof(decoding: proof.encoded()), session: "alice")
        #expect(throws: OwnershipError.unknownChallenge) { try registry.redeem(proof, session: "alice") }
        #expect(registry.outstanding == 0)
    }

    @Test("a prover holding only the tags, or a wrong leaf, path or index, is refused")
    func forgedProofs() async throws {
        let held = try await Held()
        let registry = OwnershipChallengeRegistry()
        func refused(_ mutate: (inout OwnershipProof) -> Void) async throws -> OwnershipError? {
            let challenge = registry.issue(over: held.chunks, session: "mallory")
            var proof = try await held.answer(challenge)
            mutate(&proof)
            do {
                try registry.redeem(proof, session: "mallory")
                return nil
            } catch let error as OwnershipError {
                return error
            }
        }
        // Knows the tags, not the content: leaves are guesses.
        #expect(try await refused { proof in
            for index in proof.openings.indices { proof.openings[index].piece = [UInt8](repeating: 0, count: proof.openings[index].piece.count) }
        } != nil)
        #expect(try await refused { $0.openings[5].piece[17] ^= 1 } != nil)
        #expect(try await refused { $0.openings[3].path[0] = Digest32(bytes: [UInt8](repeating: 9, count: 32))! } != nil)
        #expect(try await refused { $0.openings[0].path.removeLast() } != nil)
        #expect(try await refused { proof in proof.openings[2].reference.leaf += 1 } == .leavesDoNotMatchChallenge)
        #expect(try await refused { proof in proof.openings.removeLast() } == .leavesDoNotMatchChallenge)
        // Opening leaf i's bytes at its neighbour's position (a genuine leaf, the wrong place).
        #expect(try await refused { proof in
            proof.openings[1].piece = held.ciphertexts[proof.openings[1].reference.chunk].prefix(MerkleTree.leafSize).map { $0 }
            proof.openings[1].piece[0] ^= proof.openings[1].reference.leaf == 0 ? 1 : 0
        } != nil)
    }

    @Test("replayed, expired, foreign-session and unknown challenges are refused")
    func challengeLifecycle() async throws {
        let held = try await Held()
        let registry = OwnershipChallengeRegistry(policy: OwnershipPolicy(lifetime: .seconds(60)))
        let now = Date()
        let expiring = registry.issue(over: held.chunks, session: "alice", now: now)
        let late = try await held.answer(expiring)
        #expect(throws: OwnershipError.expired) { try registry.redeem(late, session: "alice", now: now.addingTimeInterval(61)) }

        let stolen = registry.issue(over: held.chunks, session: "alice", now: now)
        let proof = try await held.answer(stolen)
        #expect(throws: OwnershipError.sessionMismatch) { try registry.redeem(proof, session: "mallory", now: now) }
        // Redeeming consumed it, failed or not: the rightful session cannot reuse it either.
        #expect(throws: OwnershipError.unknownChallenge) { try registry.redeem(proof, session: "alice", now: now) }

        var unknown = proof
        unknown.challengeID = Digest32(bytes: [UInt8](repeating: 1, count: 32))!
        #expect(throws: OwnershipError.unknownChallenge) { try registry.redeem(unknown, session: "alice") }
    }

    @Test("a proof for one file does not open another file's challenge")
    func crossFileProof() async throws {
        let mine = try await Held(seed: "mine")
        let theirs = try await Held(seed: "theirs")
        let registry = OwnershipChallengeRegistry()
        let challenge = registry.issue(over: theirs.chunks, session: "s")
        // Same chunk and leaf positions, but the bytes of another file (wrapped to its size).
        let openings = challenge.leaves.map { reference in
            let bytes = mine.ciphertexts[reference.chunk % mine.ciphertexts.count]
            let leaf = reference.leaf % MerkleTree.leafCount(ciphertextLength: bytes.count)
            let start = leaf * MerkleTree.leafSize
            return OwnershipProof.Opening(reference: reference,
                                          piece: Array(bytes[start..<min(bytes.count, start + MerkleTree.leafSize)]),
                                          path: MerkleTree.path(in: bytes, leaf: leaf))
        }
        let proof = OwnershipProof(challengeID: challenge.id, openings: openings)
        #expect(throws: OwnershipError.self) { try registry.redeem(proof, session: "s") }
    }

    @Test("proof encoding is strict")
    func strictEncoding() async throws {
        let held = try await Held(seed: "encoding", length: 40_000)
        let challenge = OwnershipChallenge.make(over: held.chunks, session: "s")
        let bytes = try await held.answer(challenge).encoded()
        #expect(try OwnershipProof(decoding: bytes) == (try await held.answer(challenge)))
        for length in stride(from: 0, to: bytes.count, by: 97) {
            #expect(throws: BinaryDecodingError.self) { try OwnershipProof(decoding: Array(bytes.prefix(length))) }
        }
        #expect(throws: BinaryDecodingError.self) { try OwnershipProof(decoding: bytes + [0]) }
        var version = bytes; version[4] = 9
        #expect(throws: BinaryDecodingError.unsupportedVersion(9)) { try OwnershipProof(decoding: version) }
        var oversizedLeaf = bytes
        oversizedLeaf.replaceSubrange(49..<53, with: [0, 0, 0x10, 0x01])  // first leaf length 4097
        #expect(throws: BinaryDecodingError.self) { try OwnershipProof(decoding: oversizedLeaf) }
    }

    @Test("Merkle paths verify for every leaf of odd-sized trees and fail elsewhere", arguments: [1, 2, 3, 5, 8, 13])
    func merklePaths(leafCount: Int) {
        let ciphertext = testStream("merkle-\(leafCount)", count: (leafCount - 1) * MerkleTree.leafSize + 100)
        let root = MerkleTree.root(of: ciphertext)
        for leaf in 0..<leafCount {
            let start = leaf * MerkleTree.leafSize
            let piece = Array(ciphertext[start..<min(ciphertext.count, start + MerkleTree.leafSize)])
            let path = MerkleTree.path(in: ciphertext, leaf: leaf)
            #expect(MerkleTree.verify(piece: piece, leaf: leaf, path: path, root: root, ciphertextLength: ciphertext.count))
            #expect(!MerkleTree.verify(piece: piece, leaf: leaf, path: path, root: root, ciphertextLength: ciphertext.count + 1) || leaf != leafCount - 1)
            if leafCount > 1 {
                #expect(!MerkleTree.verify(piece: piece, leaf: (leaf + 1) % leafCount, path: path, root: root,
                                           ciphertextLength: ciphertext.count))
            }
        }
    }
}
