import Convergent
import Foundation
import Hummingbird
import KPABE
import NIOCore
import TwinProtocol
import TwinStorage

/// The deduplicating upload (DESIGN.md, Upload): tags first, for one file or a batch of them; the
/// server names the chunks it lacks and challenges the client to prove it holds the ones it has;
/// missing chunks come up in bundles (or one request each) and are checked against their tags; the
/// commit adds the batch's entries atomically.
struct UploadController {
    let store: any MetadataStore
    let blobs: BlobStore
    let metrics: TwinMetrics
    let limits: ServerLimits
    let sessionLifetime: TimeInterval
    let ownershipPolicy: OwnershipPolicy
    /// Capsules validated already: one run's commits share one (see `AttributeKeyWrapper`).
    let capsules = CapsuleCache()
    let beginRate: RateLimiter
    let proofRate: RateLimiter
    let failedProofs: RateLimiter
    let challengeRate: RateLimiter
    let bundles: InFlightLimit

    init(store: any MetadataStore, blobs: BlobStore, metrics: TwinMetrics, limits: ServerLimits,
         sessionLifetime: TimeInterval, ownershipPolicy: OwnershipPolicy) {
        self.store = store
        self.blobs = blobs
        self.metrics = metrics
        self.limits = limits
        self.sessionLifetime = sessionLifetime
        self.ownershipPolicy = ownershipPolicy
        beginRate = RateLimiter(limits.begins)
        proofRate = RateLimiter(limits.proofs)
        failedProofs = RateLimiter(limits.failedProofs)
        challengeRate = RateLimiter(limits.challenges)
        bundles = InFlightLimit(limits.bundlesInFlight)
    }

    static let maximumChunkCiphertext = Manifest.maximumChunkLength + ChunkCipher.overhead
    /// The largest `ChunkBundle` body accepted: the whole body is held (and its chunks copied) while
    /// they are checked, before any is stored.
    static let maximumBundle = 32 << 20
    /// The most records one bundle may carry: each is a file created, written and renamed.
    static let maximumBundleRecords = 1024
    /// The largest proof body: its most openings, each a 4 KiB piece with a path up to the root of
    /// the largest chunk (4097 leaves: 13 nodes) and its 13 bytes of framing, with room to spare.
    /// `K_M` sealed for its owner: a key, a nonce and a tag, with room for framing.
    static let maximumOwnerWrappedKey = 1024
    static let maximumProof = OwnershipProof.maximumOpenings * (13 + MerkleTree.leafSize + 16 * 32) + 64

    func register(to router: some RouterMethods<TwinRequestContext>) {
        router.post("uploads", use: begin)
        router.put("uploads/:id/chunks/:tag", use: putChunk)
        router.post("uploads/:id/chunks", use: postChunks)
        router.post("uploads/:id/proof", use: proof)
        router.post("uploads/:id/commit", use: commit)
    }

    @Sendable func begin(_ request: Request, context: TwinRequestContext) async throws -> Response {
        let user = try context.requireUser()
        if let wait = beginRate.spend(user) { throw APIError.rateLimited("upload sessions", retryAfter: wait) }
        let body = try await request.decode(as: BeginUploadRequest.self, limit: limits.beginBody, context: context)
        let all = body.files.flatMap(\.chunks)
        guard (1...limits.filesPerUpload).contains(body.files.count), all.count <= limits.chunksPerUpload,
              all.allSatisfy({ (ChunkCipher.overhead...Self.maximumChunkCiphertext).contains($0.size) })
        else { throw APIError.badRequest("no files, too many files or chunks, or a chunk size out of range") }
        // One tag, one content: a file announced twice must carry the same chunk list (it is then
        // challenged once), and a chunk the same size everywhere. Otherwise a second announcement of
        // a new tag could bring chunks that no challenge covers into a proven session.
        var announced: [Tag: [ChunkDescriptor]] = [:]
        var sizes: [Tag: Int] = [:]
        for file in body.files {
            guard announced.updateValue(file.chunks, forKey: file.fileTag).map({ $0 == file.chunks }) ?? true else {
                throw APIError.unprocessable("file \(file.fileTag) is announced twice with different chunk lists")
            }
            for chunk in file.chunks where sizes.updateValue(chunk.size, forKey: chunk.tag).map({ $0 != chunk.size }) ?? false {
                throw APIError.unprocessable("chunk \(chunk.tag) is announced with two sizes")
            }
        }
        // Chunks this user already showed to hold (`held`) are not challenged again: those of the
        // user's own entries, and in the user's live sessions those received, or announced as stored
        // once that session's proof passed. A re-shared copy of one's own photo, or the next batch of
        // one run, proves nothing twice. Everything else stored is challenged.
        let now = Date()
        let lookup = try await store.uploadLookup(files: body.files.map(\.fileTag), chunks: all.map(\.tag), user: user)
        let (existing, stored, alreadyOwned) = (lookup.files, lookup.chunks, lookup.held)
        for file in body.files {
            if let chunks = existing[file.fileTag], chunks.map({ ChunkDescriptor(tag: $0.tag, size: $0.size) }) != file.chunks {
                throw APIError.unprocessable("the chunk list does not match the stored file \(file.fileTag)")
            }
        }
        let fileExists = body.files.map { existing[$0.fileTag] != nil }
        for chunk in all where stored[chunk.tag].map({ $0 != chunk.size }) ?? false {
            throw APIError.unprocessable("chunk \(chunk.tag) is stored with another size")
        }
        let missing = Set(all.map(\.tag)).subtracting(stored.keys)
        let id = Data(randomBytes(18)).base64URLEncodedString()

        // Each file is challenged on its own, with the policy's full count of leaves: leaves drawn
        // over the whole batch could all miss a small file claimed by someone holding only its tags.
        // A file announced twice (one image under two names) is the same content: challenged once.
        var issued: OwnershipChallenge?
        var leaves: [LeafReference] = []
        var challengedFiles = Set<Tag>()
        var offset = 0
        for file in body.files {
            let heldPositions = file.chunks.indices.filter {
                stored[file.chunks[$0].tag] != nil && !alreadyOwned.contains(file.chunks[$0].tag)
            }
            if !heldPositions.isEmpty, challengedFiles.insert(file.fileTag).inserted {
                let held = heldPositions.map { HeldChunk(tag: file.chunks[$0].tag, ciphertextLength: file.chunks[$0].size) }
                let drawn = OwnershipChallenge.make(over: held, session: id, policy: ownershipPolicy, now: now)
                // Leaves were drawn over the file's held chunks; the client counts positions in the
                // concatenation of all announced chunk lists.
                leaves += drawn.leaves.map { LeafReference(chunk: offset + heldPositions[$0.chunk], leaf: $0.leaf) }
                issued = issued ?? drawn
            }
            offset += file.chunks.count
        }
        // The proof must fit what a proof may carry: a batch too large to challenge is refused whole.
        guard leaves.count <= OwnershipProof.maximumOpenings else {
            throw APIError.unprocessable("these files need \(leaves.count) challenged leaves, more than one proof carries "
                                      + "(\(OwnershipProof.maximumOpenings)): announce fewer files at once")
        }
        // Fresh challenges are rationed (re-rolls), and none is drawn for a user whose failed
        // proofs are spent until that bucket refills.
        if issued != nil {
            if let wait = failedProofs.wait(for: user) { throw APIError.rateLimited("failed proofs of ownership", retryAfter: wait) }
            if let wait = challengeRate.spend(user) { throw APIError.rateLimited("ownership challenges", retryAfter: wait) }
        }
        let challenge = issued.map { OwnershipChallenge(id: $0.id, session: id, leaves: leaves.sorted(), expiresAt: $0.expiresAt) }
        let deduplicated = all.filter { stored[$0.tag] != nil }
        if !deduplicated.isEmpty {
            metrics.dedupChunkHits.increment(by: Int64(deduplicated.count))
            metrics.dedupBytesSaved.increment(by: Int64(deduplicated.reduce(0) { $0 + $1.size }))
        }
        let expiresAt = now.addingTimeInterval(sessionLifetime)
        try await store.createUploadSession(UploadSessionRecord(
            id: id, user: user,
            files: body.files.map { AnnouncedFile(fileTag: $0.fileTag, chunks: $0.chunks.map { ChunkReference(tag: $0.tag, size: $0.size) }) },
            missing: missing, received: [], challenge: challenge, ownershipProven: challenge == nil, expiresAt: expiresAt),
            maximumLive: limits.uploadSessionsPerUser, now: now)
        // What was read as stored must still be: a collection between that read and the session's
        // creation would leave it naming chunks with no blob. From here on the session's tags keep
        // them from collection, so one re-read settles it.
        if !deduplicated.isEmpty {
            let still = try await store.storedChunks(deduplicated.map(\.tag))
            if deduplicated.contains(where: { still[$0.tag] == nil }) {
                try await store.deleteUploadSession(id: id)
                throw APIError(.serviceUnavailable, .busy, "stored chunks were being collected; retry", retryAfter: 1)
            }
        }
        let response = BeginUploadResponse(
            id: id, missing: all.map(\.tag).filter(missing.contains).uniqued(), fileExists: fileExists,
            challenge: challenge.map { challenge in
                ChallengeDescriptor(id: challenge.id, leaves: challenge.leaves.map { .init(chunk: $0.chunk, leaf: $0.leaf) },
                                    expiresAt: challenge.expiresAt)
            },
            expiresAt: expiresAt)
        return try jsonResponse(.created, response, context: context)
    }

    @Sendable func putChunk(_ request: Request, context: TwinRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let id = try context.parameters.decoded("id")
        guard let tag = Tag(hex: try context.parameters.decoded("tag")) else { throw APIError.badRequest("malformed tag") }
        guard let session = try await store.uploadSessionChunks(id: id, tags: [tag]), session.user == user else {
            throw APIError.notFound("no upload \(id)")
        }
        guard session.expiresAt > Date() else { throw APIError(.gone, .sessionExpired, "upload \(id) expired") }
        guard let state = session.chunks[tag], state.missing else {
            throw APIError(.conflict, .unexpectedChunk, "chunk \(tag) was not requested by this upload")
        }
        if state.received { return Response(status: .noContent) }
        let size = state.size
        let body = try await request.body.collect(upTo: Self.maximumChunkCiphertext)
        let bytes = Array(buffer: body)
        metrics.bytesReceived.increment(by: Int64(bytes.count))
        try check(bytes, tag: tag, announcedSize: size)
        try await storeChunks([(ChunkReference(tag: tag, size: size), bytes)], session: id)
        return Response(status: .noContent)
    }

    /// A received chunk is what was announced: its size, and (tag consistency: nobody can plant data
    /// under a tag it does not hash to) its Merkle root.
    private func check(_ bytes: [UInt8], tag: Tag, announcedSize: Int) throws {
        guard bytes.count == announcedSize else {
            throw APIError.unprocessable("chunk \(tag) is \(bytes.count) bytes, announced \(announcedSize)")
        }
        let actual = MerkleTree.root(of: bytes)
        guard actual == tag else {
            metrics.tagMismatches.increment()
            throw APIError(.unprocessableContent, .tagMismatch, "chunk \(tag) hashes to \(actual)")
        }
    }

    /// Writes checked chunks' blobs as one batch and records them in one transaction once they are
    /// down. Blobs stored before a failure are recorded all the same: a blob on disk is always known
    /// to the database (as garbage at worst). A chunk that a collector is deleting at that moment is
    /// refused (`.busy`, 503): the client sends it again once the collection is over.
    private func storeChunks(_ chunks: [(reference: ChunkReference, bytes: [UInt8])], session id: String) async throws {
        do {
            try await blobs.putAll(chunks.map { ($0.reference.tag, $0.bytes) })
        } catch let failure as BlobBatchWriteError {
            let stored = Set(failure.stored)
            let written = chunks.map(\.reference).filter { stored.contains($0.tag) }
            if !written.isEmpty { try await store.recordReceived(written, session: id) }
            throw failure.underlying
        }
        try await store.recordReceived(chunks.map(\.reference), session: id)
    }

    /// Several missing chunks in one request (`ChunkBundle`). Every chunk is checked before any is
    /// stored, so one that was not requested or does not hash to its tag leaves nothing behind.
    @Sendable func postChunks(_ request: Request, context: TwinRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let id = try context.parameters.decoded("id")
        // Bundles are held whole while checked: a bounded number at once, server-wide.
        guard let slot = bundles.enter() else {
            throw APIError(.serviceUnavailable, .busy, "the server is receiving as many chunk bundles as it holds; retry", retryAfter: 1)
        }
        defer { slot.leave() }
        let body = try await request.body.collect(upTo: Self.maximumBundle)
        metrics.bytesReceived.increment(by: Int64(body.readableBytes))
        let records: [(tag: Tag, range: Range<Int>)] = try body.withUnsafeReadableBytes { raw in
            do { return try ChunkBundle.records(in: raw) } catch { throw APIError.unprocessable("malformed chunk bundle: \(error)") }
        }
        guard (1...Self.maximumBundleRecords).contains(records.count) else {
            throw APIError.unprocessable("a chunk bundle carries 1 to \(Self.maximumBundleRecords) chunks, not \(records.count)")
        }
        // Only the bundle's chunks are read of the session, not its chunk lists and challenge.
        guard let session = try await store.uploadSessionChunks(id: id, tags: records.map(\.tag)), session.user == user else {
            throw APIError.notFound("no upload \(id)")
        }
        guard session.expiresAt > Date() else { throw APIError(.gone, .sessionExpired, "upload \(id) expired") }
        let chunks: [(reference: ChunkReference, bytes: [UInt8], received: Bool)] = try body.withUnsafeReadableBytes { raw in
            var seen = Set<Tag>()
            return try records.map { record in
                guard let state = session.chunks[record.tag], state.missing, seen.insert(record.tag).inserted else {
                    throw APIError(.conflict, .unexpectedChunk, "chunk \(record.tag) was not requested by this upload, or came twice")
                }
                let bytes = Array(raw[record.range])
                try check(bytes, tag: record.tag, announcedSize: state.size)
                return (ChunkReference(tag: record.tag, size: state.size), bytes, state.received)
            }
        }
        let fresh = chunks.filter { !$0.received }.map { ($0.reference, $0.bytes) }
        guard !fresh.isEmpty else { return Response(status: .noContent) }
        try await storeChunks(fresh, session: id)
        return Response(status: .noContent)
    }

    @Sendable func proof(_ request: Request, context: TwinRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let id = try context.parameters.decoded("id")
        if let wait = proofRate.spend(user) { throw APIError.rateLimited("proofs of ownership", retryAfter: wait) }
        if let wait = failedProofs.wait(for: user) {
            throw APIError.rateLimited("failed proofs of ownership", retryAfter: wait)
        }
        let body = try await request.body.collect(upTo: Self.maximumProof)
        guard let proof = try? OwnershipProof(decoding: Array(buffer: body)) else {
            throw APIError.unprocessable("malformed proof encoding")
        }
        guard let owner = try await store.uploadSessionChunks(id: id, tags: []), owner.user == user else {
            throw APIError.notFound("no upload \(id)")
        }
        guard owner.expiresAt > Date() else { throw APIError(.gone, .sessionExpired, "upload \(id) expired") }
        // Taken before checking: one attempt per challenge, whatever its outcome.
        let taken: TakenChallenge?
        do { taken = try await store.takeChallenge(session: id) } catch MetadataStoreError.notFound { throw APIError.notFound("no upload \(id)") }
        guard let taken else { throw APIError(.conflict, .proofInvalid, "no outstanding challenge for this upload") }
        guard taken.challenge.expiresAt > Date() else {
            metrics.proofFailures.increment()
            throw APIError(.forbidden, .sessionExpired, "the challenge expired")
        }
        let held = taken.chunks.map { HeldChunk(tag: $0.tag, ciphertextLength: $0.size) }
        do {
            try taken.challenge.verify(proof, chunks: held)
        } catch {
            metrics.proofFailures.increment()
            _ = failedProofs.spend(user)
            throw APIError(.forbidden, .proofInvalid, "proof of ownership rejected: \(error)")
        }
        metrics.proofPasses.increment()
        try await store.setOwnershipProven(session: id)
        return Response(status: .noContent)
    }

    @Sendable func commit(_ request: Request, context: TwinRequestContext) async throws -> Response {
        let session = try await liveSession(context)
        let body = try await request.decode(as: CommitRequest.self, limit: limits.commitBody, context: context)
        guard session.ownershipProven else {
            throw APIError(.forbidden, .proofRequired, "prove ownership of the chunks the server already holds first")
        }
        guard session.missing.isSubset(of: session.received) else {
            throw APIError(.conflict, .incompleteUpload, "\(session.missing.subtracting(session.received).count) chunks not uploaded yet")
        }
        guard body.entries.count == session.files.count else {
            throw APIError.unprocessable("\(body.entries.count) entries for \(session.files.count) announced files")
        }
        var authority: AuthorityID?
        var committed: [(entry: EntryRecord, file: FileRecord)] = []
        let now = Date()
        for (position, (commit, file)) in zip(body.entries, session.files).enumerated() {
            guard TwinProtocol.isValidName(commit.name) else { throw APIError.badRequest("invalid entry name at position \(position)") }
            guard (0...limits.entrySize).contains(commit.size), commit.mediaType.unicodeScalars.count <= limits.mediaTypeLength,
                  commit.attributes.count <= limits.attributesPerEntry,
                  commit.attributes.allSatisfy({ (1...Policy.maximumAttributeLength).contains($0.utf8.count) }),
                  commit.ownerWrappedKey.count <= Self.maximumOwnerWrappedKey else {
                throw APIError.unprocessable("size, media type, attributes or owner-wrapped key out of range at position \(position)")
            }
            let manifest = Array(commit.sealedManifest)
            guard Manifest.fileTag(sealedManifest: manifest, chunkTags: file.chunks.lazy.map(\.tag)) == file.fileTag else {
                throw APIError(.unprocessableContent, .tagMismatch,
                               "the sealed manifest and announced chunks of \(commit.name) do not make its file tag")
            }
            let attributes = Array(Set(commit.attributes)).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            if !commit.attributeWrappedKey.isEmpty {
                // The server cannot open CK_M, but it can check that it is well-formed, wrapped under
                // exactly the attributes it will enforce, for the owner's own authority.
                guard let wrapped = try? WrappedKey(decoding: Array(commit.attributeWrappedKey), capsules: capsules),
                      wrapped.attributes == attributes else {
                    throw APIError.unprocessable("attributeWrappedKey of \(commit.name) is not a key wrapped by KP-ABE under the entry's attributes")
                }
                if authority == nil {
                    guard let owner = try await store.user(named: session.user),
                          let decoded = try? PublicParameters.authority(ofEncoded: owner.authorityParameters) else {
                        throw APIError.unprocessable("the owner's authority parameters do not decode")
                    }
                    authority = decoded
                }
                guard wrapped.capsule.authority == authority else {
                    throw APIError.unprocessable("attributeWrappedKey of \(commit.name) is not wrapped for the owner's authority")
                }
                capsules.remember(wrapped)
            }
            committed.append((
                EntryRecord(owner: session.user, name: commit.name, fileTag: file.fileTag, attributes: attributes,
                            attributeWrappedKey: Array(commit.attributeWrappedKey), ownerWrappedKey: Array(commit.ownerWrappedKey),
                            mediaType: commit.mediaType, size: commit.size, createdAt: now),
                FileRecord(tag: file.fileTag, sealedManifest: manifest, chunks: file.chunks)))
        }
        try await store.commit(committed, sessionID: session.id, quota: limits.quotaBytes)
        let entries = committed.map { EntryResponse($0.entry, caller: session.user, file: nil) }
        return try jsonResponse(.created, EntryListResponse(entries: entries), context: context)
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
