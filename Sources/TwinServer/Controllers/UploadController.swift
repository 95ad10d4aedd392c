import Convergent
import Foundation
import Hummingbird
import KPABE
import NIOCore
import TwinProtocol
import TwinStorage

/// The deduplicating upload (DESIGN.md, Upload): tags first; the server names the chunks it lacks
/// and challenges the client to prove it holds the ones it has; missing chunks come up one request
/// each and are checked against their tags; the commit adds the entry atomically.
struct UploadController {
    let store: any MetadataStore
    let blobs: any BlobStore
    let metrics: TwinMetrics
    let sessionLifetime: TimeInterval
    let ownershipPolicy: OwnershipPolicy
    let gate: ChunkGate
    /// Capsules validated already: one run's commits share one (see `AttributeKeyWrapper`).
    let capsules = CapsuleCache()

    static let maximumChunks = 1 << 20
    static let maximumChunkCiphertext = Manifest.maximumChunkLength + ChunkCipher.overhead

    func register(to router: some RouterMethods<TwinRequestContext>) {
        router.post("uploads", use: begin)
        router.put("uploads/:id/chunks/:tag", use: putChunk)
        router.post("uploads/:id/proof", use: proof)
        router.post("uploads/:id/commit", use: commit)
    }

    @Sendable func begin(_ request: Request, context: TwinRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let body = try await request.decode(as: BeginUploadRequest.self, context: context)
        guard body.chunks.count <= Self.maximumChunks,
              body.chunks.allSatisfy({ (ChunkCipher.overhead...Self.maximumChunkCiphertext).contains($0.size) })
        else { throw APIError.badRequest("chunk list too long or a chunk size out of range") }
        let existing = try await store.file(body.fileTag)
        if let existing {
            guard existing.chunks.map({ ChunkDescriptor(tag: $0.tag, size: $0.size) }) == body.chunks else {
                throw APIError.badRequest("the chunk list does not match the stored file with this tag")
            }
        }
        let stored = try await store.storedChunks(body.chunks.map(\.tag))
        for chunk in body.chunks where stored[chunk.tag].map({ $0 != chunk.size }) ?? false {
            throw APIError.badRequest("chunk \(chunk.tag) is stored with another size")
        }
        let missing = Set(body.chunks.map(\.tag)).subtracting(stored.keys)
        let storedPositions = body.chunks.indices.filter { stored[body.chunks[$0].tag] != nil }
        // Chunks this user's own entries already use were uploaded or proven by this user before: a
        // re-shared copy of one's own photo is not challenged again. Everything else stored is.
        let alreadyOwned = try await store.chunksHeld(by: user, among: Array(stored.keys))
        let heldPositions = storedPositions.filter { !alreadyOwned.contains(body.chunks[$0].tag) }
        let id = Data(randomBytes(18)).base64URLEncodedString()
        let now = Date()

        var challenge: OwnershipChallenge?
        if !heldPositions.isEmpty {
            let held = heldPositions.map { HeldChunk(tag: body.chunks[$0].tag, ciphertextLength: body.chunks[$0].size) }
            let drawn = OwnershipChallenge.make(over: held, session: id, policy: ownershipPolicy, now: now)
            // Leaves were drawn over the held chunks; the client counts positions in its whole list.
            challenge = OwnershipChallenge(
                id: drawn.id, session: id,
                leaves: drawn.leaves.map { LeafReference(chunk: heldPositions[$0.chunk], leaf: $0.leaf) },
                expiresAt: drawn.expiresAt)
        }
        if !storedPositions.isEmpty {
            metrics.dedupChunkHits.increment(by: Int64(storedPositions.count))
            metrics.dedupBytesSaved.increment(by: Int64(storedPositions.reduce(0) { $0 + body.chunks[$1].size }))
        }
        let expiresAt = now.addingTimeInterval(sessionLifetime)
        try await store.createUploadSession(UploadSessionRecord(
            id: id, user: user, fileTag: body.fileTag,
            chunks: body.chunks.map { ChunkReference(tag: $0.tag, size: $0.size) },
            missing: missing, received: [], challenge: challenge, ownershipProven: challenge == nil, expiresAt: expiresAt))
        let response = BeginUploadResponse(
            id: id, missing: body.chunks.map(\.tag).filter(missing.contains).uniqued(), fileExists: existing != nil,
            challenge: challenge.map { challenge in
                ChallengeDescriptor(id: challenge.id, leaves: challenge.leaves.map { .init(chunk: $0.chunk, leaf: $0.leaf) },
                                    expiresAt: challenge.expiresAt)
            },
            expiresAt: expiresAt)
        return try jsonResponse(.created, response, context: context)
    }

    @Sendable func putChunk(_ request: Request, context: TwinRequestContext) async throws -> Response {
        let session = try await liveSession(context)
        guard let tag = Tag(hex: try context.parameters.decoded("tag")) else { throw APIError.badRequest("malformed tag") }
        guard session.missing.contains(tag) else {
            throw APIError(.conflict, .unexpectedChunk, "chunk \(tag) was not requested by this upload")
        }
        if session.received.contains(tag) { return Response(status: .noContent) }
        let size = session.chunks.first { $0.tag == tag }!.size
        let body = try await request.body.collect(upTo: Self.maximumChunkCiphertext)
        let bytes = Array(buffer: body)
        metrics.bytesReceived.increment(by: Int64(bytes.count))
        guard bytes.count == size else {
            throw APIError.badRequest("chunk \(tag) is \(bytes.count) bytes, announced \(size)")
        }
        // Tag consistency: nobody can plant data under a tag it does not hash to.
        let actual = MerkleTree.root(of: bytes)
        guard actual == tag else {
            metrics.tagMismatches.increment()
            throw APIError(.unprocessableContent, .tagMismatch, "the chunk hashes to \(actual), not \(tag)")
        }
        let (blobs, store) = (self.blobs, self.store)
        try await gate.withUpload {
            try await blobs.put(tag, bytes)
            try await store.recordReceived(ChunkReference(tag: tag, size: size), session: session.id)
        }
        return Response(status: .noContent)
    }

    @Sendable func proof(_ request: Request, context: TwinRequestContext) async throws -> Response {
        let session = try await liveSession(context)
        let body = try await request.body.collect(upTo: 1 << 22)
        guard let proof = try? OwnershipProof(decoding: Array(buffer: body)) else {
            throw APIError.badRequest("malformed proof encoding")
        }
        // Taken before checking: one attempt per challenge, whatever its outcome.
        guard let challenge = try await store.takeChallenge(session: session.id) else {
            throw APIError(.conflict, .proofInvalid, "no outstanding challenge for this upload")
        }
        guard challenge.expiresAt > Date() else {
            metrics.proofFailures.increment()
            throw APIError(.forbidden, .sessionExpired, "the challenge expired")
        }
        let held = session.chunks.map { HeldChunk(tag: $0.tag, ciphertextLength: $0.size) }
        do {
            try challenge.verify(proof, chunks: held)
        } catch {
            metrics.proofFailures.increment()
            throw APIError(.forbidden, .proofInvalid, "proof of ownership rejected: \(error)")
        }
        metrics.proofPasses.increment()
        try await store.setOwnershipProven(session: session.id)
        return Response(status: .noContent)
    }

    @Sendable func commit(_ request: Request, context: TwinRequestContext) async throws -> Response {
        let session = try await liveSession(context)
        let body = try await request.decode(as: CommitRequest.self, context: context)
        guard session.ownershipProven else {
            throw APIError(.forbidden, .proofRequired, "prove ownership of the chunks the server already holds first")
        }
        guard session.missing.isSubset(of: session.received) else {
            throw APIError(.conflict, .incompleteUpload, "\(session.missing.subtracting(session.received).count) chunks not uploaded yet")
        }
        guard TwinProtocol.isValidName(body.name) else { throw APIError.badRequest("invalid entry name") }
        guard body.size >= 0, body.mediaType.utf8.count <= 127 else { throw APIError.badRequest("invalid size or media type") }
        let manifest = Array(body.sealedManifest)
        guard MerkleTree.root(of: manifest) == session.fileTag else {
            throw APIError(.unprocessableContent, .tagMismatch, "the sealed manifest does not hash to the file tag")
        }
        let attributes = Array(Set(body.attributes)).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        if !body.attributeWrappedKey.isEmpty {
            // The server cannot open CK_M, but it can check that it is well-formed, wrapped under
            // exactly the attributes it will enforce, for the owner's own authority.
            guard let wrapped = try? WrappedKey(decoding: Array(body.attributeWrappedKey), capsules: capsules),
                  wrapped.attributes == attributes else {
                throw APIError.badRequest("attributeWrappedKey is not a key wrapped by KP-ABE under the entry's attributes")
            }
            guard let owner = try await store.user(named: session.user),
                  let authority = try? PublicParameters.authority(ofEncoded: owner.authorityParameters),
                  wrapped.capsule.authority == authority else {
                throw APIError.badRequest("attributeWrappedKey is not wrapped for the owner's authority")
            }
            capsules.remember(wrapped)
        }
        let entry = EntryRecord(
            owner: session.user, name: body.name, fileTag: session.fileTag, attributes: attributes,
            attributeWrappedKey: Array(body.attributeWrappedKey), ownerWrappedKey: Array(body.ownerWrappedKey),
            mediaType: body.mediaType, size: body.size, createdAt: Date())
        try await store.commit(entry: entry, file: FileRecord(tag: session.fileTag, sealedManifest: manifest, chunks: session.chunks),
                               sessionID: session.id)
        return try jsonResponse(.created, EntryResponse(entry, caller: session.user, file: nil), context: context)
    }

    private func liveSession(_ context: TwinRequestContext) async throws -> UploadSessionRecord {
        let user = try context.requireUser()
        let id = try context.parameters.decoded("id")
        guard let session = try await store.uploadSession(id: id), session.user == user else {
            throw APIError.notFound("no upload \(id)")
        }
        guard session.expiresAt > Date() else { throw APIError(.gone, .sessionExpired, "upload \(id) expired") }
        return session
    }
}

extension Array where Element: Hashable {
    func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}

extension EntryResponse {
    /// What `caller` may see of `entry`: the owner's wrapped key only for the owner; manifest and chunk
    /// list only when `file` is given (single-entry reads).
    init(_ entry: EntryRecord, caller: String, file: FileRecord?) {
        self.init(owner: entry.owner, name: entry.name, fileTag: entry.fileTag, attributes: entry.attributes,
                  attributeWrappedKey: Data(entry.attributeWrappedKey),
                  ownerWrappedKey: caller == entry.owner ? Data(entry.ownerWrappedKey) : nil,
                  sealedManifest: file.map { Data($0.sealedManifest) },
                  chunks: file?.chunks.map { ChunkDescriptor(tag: $0.tag, size: $0.size) },
                  mediaType: entry.mediaType, size: entry.size, createdAt: entry.createdAt)
    }
}
