import Convergent
import Crypto
import Foundation
import KPABE
import TwinProtocol
import TwinStorage

/// The deduplicating upload as a state machine, free of HTTP (DESIGN.md, Upload): a client
/// announces files by their tags (`announce`); the server names the chunks it lacks and draws a
/// proof-of-ownership challenge over the ones it holds; missing chunks arrive and are checked
/// against their tags (`receive`); the proof is checked (`prove`); the commit adds the batch's
/// entries atomically (`commit`). Every piece of state lives in the `MetadataStore`, so any server
/// sharing the store can take any step of any upload. Refusals are `UploadError`s.
struct UploadService: Sendable {
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
    /// Harnik, Pinkas and Shulman-Peleg's defence against the existence oracle: with it, a stored
    /// chunk the user does not hold is asked for, as if new, until it was sent its threshold of
    /// times (`ServerSecrets.dedupThreshold`); nothing in the answer tells the two apart.
    let dedupThreshold: (secrets: ServerSecrets, maximum: Int)?

    init(store: any MetadataStore, blobs: BlobStore, metrics: TwinMetrics, limits: ServerLimits,
         sessionLifetime: TimeInterval, ownershipPolicy: OwnershipPolicy, dedupThreshold: (secrets: ServerSecrets, maximum: Int)? = nil) {
        self.dedupThreshold = dedupThreshold
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
    }

    static let maximumChunkCiphertext = Manifest.maximumChunkLength + ChunkCipher.overhead
    /// `K_M` sealed for its owner: a key, a nonce and a tag, with room for framing.
    static let maximumOwnerWrappedKey = 1024

    /// What the server answers an announcement.
    struct Announcement: Sendable {
        var id: String
        /// Tags to upload, in announcement order, each once.
        var missing: [Tag]
        /// Per announced file: whether the server already stores it.
        var fileExists: [Bool]
        var challenge: OwnershipChallenge?
        var expiresAt: Date
    }

    // MARK: Announce

    func announce(_ files: [AnnouncedFile], by user: String) async throws -> Announcement {
        if let wait = beginRate.spend(user) { throw UploadError.rateLimited("upload sessions", retryAfter: wait) }
        let all = files.flatMap(\.chunks)
        guard (1...limits.filesPerUpload).contains(files.count), all.count <= limits.chunksPerUpload,
              all.allSatisfy({ (ChunkCipher.overhead...Self.maximumChunkCiphertext).contains($0.size) })
        else { throw UploadError.invalid("no files, too many files or chunks, or a chunk size out of range") }
        // One tag, one content: a file announced twice must carry the same chunk list (it is then
        // challenged once), and a chunk the same size everywhere. Otherwise a second announcement of
        // a new tag could bring chunks that no challenge covers into a proven session.
        var announced: [Tag: [ChunkReference]] = [:]
        var sizes: [Tag: Int] = [:]
        for file in files {
            guard announced.updateValue(file.chunks, forKey: file.fileTag).map({ $0 == file.chunks }) ?? true else {
                throw UploadError.unprocessable("file \(file.fileTag) is announced twice with different chunk lists")
            }
            for chunk in file.chunks where sizes.updateValue(chunk.size, forKey: chunk.tag).map({ $0 != chunk.size }) ?? false {
                throw UploadError.unprocessable("chunk \(chunk.tag) is announced with two sizes")
            }
        }
        // Chunks of the user's own committed entries are not challenged again; everything else
        // stored is.
        let now = Date()
        var lookup = try await store.uploadLookup(files: files.map(\.fileTag), chunks: all.map(\.tag), user: user)
        if let (secrets, maximum) = dedupThreshold {
            // Below its threshold a stored chunk is treated as absent, and so is a file with such a
            // chunk. The checks below then cannot tell a prober anything either: a wrong size or
            // chunk list for such a chunk or file is caught later, from the client's own data (the
            // bytes must hash to the tag, and the commit binds the file tag to its chunk list).
            for (tag, uploads) in lookup.uploads where !lookup.held.contains(tag) {
                if uploads < (try await secrets.dedupThreshold(for: tag, maximum: maximum)) { lookup.chunks[tag] = nil }
            }
            for file in files where file.chunks.contains(where: { lookup.chunks[$0.tag] == nil }) { lookup.files[file.fileTag] = nil }
        }
        for file in files {
            if let chunks = lookup.files[file.fileTag], chunks != file.chunks {
                throw UploadError.unprocessable("the chunk list does not match the stored file \(file.fileTag)")
            }
        }
        for chunk in all where lookup.chunks[chunk.tag].map({ $0 != chunk.size }) ?? false {
            throw UploadError.unprocessable("chunk \(chunk.tag) is stored with another size")
        }
        let missing = Set(all.map(\.tag)).subtracting(lookup.chunks.keys)
        let id = Data(randomBytes(18)).base64URLEncodedString()
        let challenge = try drawChallenge(files, stored: lookup.chunks, owned: lookup.held, session: id, user: user, now: now)
        let deduplicated = all.filter { lookup.chunks[$0.tag] != nil }
        if !deduplicated.isEmpty {
            metrics.dedupChunkHits.increment(by: Int64(deduplicated.count))
            metrics.dedupBytesSaved.increment(by: Int64(deduplicated.reduce(0) { $0 + $1.size }))
        }
        let expiresAt = now.addingTimeInterval(sessionLifetime)
        try await store.createUploadSession(UploadSessionRecord(
            id: id, user: user, files: files, missing: missing, received: [], challenge: challenge,
            ownershipProven: challenge == nil, expiresAt: expiresAt), maximumLive: limits.uploadSessionsPerUser, now: now)
        // What was read as stored must still be: a collection (on any server) between that read and
        // the session's creation would leave the session naming chunks with no blob. From here on
        // the session's tags keep them from collection, so one re-read settles it.
        if !deduplicated.isEmpty {
            let still = try await store.storedChunks(deduplicated.map(\.tag))
            if deduplicated.contains(where: { still[$0.tag] == nil }) {
                try await store.deleteUploadSession(id: id)
                throw UploadError.busy("stored chunks were being collected")
            }
        }
        return Announcement(id: id, missing: all.map(\.tag).filter(missing.contains).uniqued(),
                            fileExists: files.map { lookup.files[$0.fileTag] != nil }, challenge: challenge, expiresAt: expiresAt)
    }

    /// Each file is challenged on its own, with the policy's full count of leaves: leaves drawn over
    /// the whole batch could all miss a small file claimed by someone holding only its tags. A file
    /// announced twice (one image under two names) is the same content: challenged once.
    private func drawChallenge(_ files: [AnnouncedFile], stored: [Tag: Int], owned: Set<Tag>, session id: String,
                               user: String, now: Date) throws -> OwnershipChallenge? {
        var issued: OwnershipChallenge?
        var leaves: [LeafReference] = []
        var challengedFiles = Set<Tag>()
        var offset = 0
        for file in files {
            let heldPositions = file.chunks.indices.filter { stored[file.chunks[$0].tag] != nil && !owned.contains(file.chunks[$0].tag) }
            if !heldPositions.isEmpty, challengedFiles.insert(file.fileTag).inserted {
                let held = heldPositions.map { file.chunks[$0] }
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
            throw UploadError.unprocessable("these files need \(leaves.count) challenged leaves, more than one proof carries "
                                            + "(\(OwnershipProof.maximumOpenings)): announce fewer files at once")
        }
        guard let issued else { return nil }
        // Fresh challenges are rationed (re-rolls), and none is drawn for a user whose failed proofs
        // are spent until that bucket refills.
        if let wait = failedProofs.wait(for: user) { throw UploadError.rateLimited("failed proofs of ownership", retryAfter: wait) }
        if let wait = challengeRate.spend(user) { throw UploadError.rateLimited("ownership challenges", retryAfter: wait) }
        return OwnershipChallenge(id: issued.id, session: id, leaves: leaves.sorted(), expiresAt: issued.expiresAt)
    }

    // MARK: Receive

    /// Checks arriving chunks against what session `id` asked for (size and tag: nobody can plant
    /// data under a tag it does not hash to), stores their blobs as one batch, and records them in
    /// one transaction once they are down. Every chunk is checked before any is stored, so one that
    /// was not requested or does not hash to its tag leaves nothing behind. Chunks received before
    /// are skipped.
    func receive(_ chunks: [(tag: Tag, bytes: [UInt8])], session id: String, user: String) async throws {
        guard let session = try await store.uploadSessionChunks(id: id, tags: chunks.map(\.tag)), session.user == user else {
            throw UploadError.noSession(id)
        }
        guard session.expiresAt > Date() else { throw UploadError.expired(id) }
        var seen = Set<Tag>()
        var fresh: [(reference: ChunkReference, bytes: [UInt8])] = []
        for chunk in chunks {
            guard let state = session.chunks[chunk.tag], state.missing, seen.insert(chunk.tag).inserted else {
                throw UploadError.unexpectedChunk(chunk.tag)
            }
            guard chunk.bytes.count == state.size else {
                throw UploadError.unprocessable("chunk \(chunk.tag) is \(chunk.bytes.count) bytes, announced \(state.size)")
            }
            let actual = MerkleTree.root(of: chunk.bytes)
            guard actual == chunk.tag else {
                metrics.tagMismatches.increment()
                throw UploadError.tagMismatch("chunk \(chunk.tag) hashes to \(actual)")
            }
            if !state.received { fresh.append((ChunkReference(tag: chunk.tag, size: state.size), chunk.bytes)) }
        }
        guard !fresh.isEmpty else { return }
        // Blobs stored before a failure are recorded all the same: a blob in the backend is always
        // known to the metadata (as garbage at worst). A chunk a collector is deleting at that
        // moment is refused (`.collecting`): the client sends it again once the collection is over.
        do {
            try await blobs.putAll(fresh.map { ($0.reference.tag, $0.bytes) })
        } catch let failure as BlobBatchWriteError {
            let stored = Set(failure.stored)
            let written = fresh.map(\.reference).filter { stored.contains($0.tag) }
            if !written.isEmpty { try await store.recordReceived(written, session: id) }
            throw failure.underlying
        }
        try await store.recordReceived(fresh.map(\.reference), session: id)
    }

    // MARK: Prove

    func prove(_ proof: OwnershipProof, session id: String, user: String) async throws {
        if let wait = proofRate.spend(user) { throw UploadError.rateLimited("proofs of ownership", retryAfter: wait) }
        if let wait = failedProofs.wait(for: user) { throw UploadError.rateLimited("failed proofs of ownership", retryAfter: wait) }
        guard let session = try await store.uploadSessionChunks(id: id, tags: []), session.user == user else {
            throw UploadError.noSession(id)
        }
        guard session.expiresAt > Date() else { throw UploadError.expired(id) }
        // Taken before checking: one attempt per challenge, whatever its outcome.
        let taken: TakenChallenge?
        do { taken = try await store.takeChallenge(session: id) } catch MetadataStoreError.notFound { throw UploadError.noSession(id) }
        guard let taken else { throw UploadError.noChallenge }
        guard taken.challenge.expiresAt > Date() else {
            metrics.proofFailures.increment()
            throw UploadError.challengeExpired
        }
        do {
            try taken.challenge.verify(proof, chunks: taken.chunks)
        } catch {
            metrics.proofFailures.increment()
            _ = failedProofs.spend(user)
            throw UploadError.proofRejected("\(error)")
        }
        metrics.proofPasses.increment()
        try await store.setOwnershipProven(session: id)
    }

    // MARK: Commit

    /// Adds one entry per announced file, in order, atomically, once ownership is proven and every
    /// missing chunk arrived; an entry that `replaces` another takes its place in the same
    /// transaction.
    func commit(_ commits: [EntryCommit], session id: String, user: String) async throws -> [EntryRecord] {
        guard let session = try await store.uploadSession(id: id), session.user == user else { throw UploadError.noSession(id) }
        guard session.expiresAt > Date() else { throw UploadError.expired(id) }
        guard session.ownershipProven else { throw UploadError.proofRequired }
        guard session.missing.isSubset(of: session.received) else {
            throw UploadError.incomplete(outstanding: session.missing.subtracting(session.received).count)
        }
        guard commits.count == session.files.count else {
            throw UploadError.unprocessable("\(commits.count) entries for \(session.files.count) announced files")
        }
        guard let owner = try await store.user(named: user), var check = EntryKeyCheck(owner: owner, capsules: capsules) else {
            throw UploadError.noSession(id)
        }
        var committed: [(entry: EntryRecord, file: FileRecord)] = []
        let now = Date()
        for (position, (commit, file)) in zip(commits, session.files).enumerated() {
            guard TwinProtocol.isValidName(commit.name) else { throw UploadError.invalid("invalid entry name at position \(position)") }
            guard commit.size >= 0, commit.size <= limits.entrySize, commit.mediaType.unicodeScalars.count <= limits.mediaTypeLength,
                  commit.attributes.count <= limits.attributesPerEntry,
                  commit.attributes.allSatisfy(AttributeVersion.isValid),
                  commit.ownerWrappedKey.count <= Self.maximumOwnerWrappedKey else {
                throw UploadError.unprocessable("size, media type, attributes (1–240 bytes, without '#') or owner-wrapped key out of range at position \(position)")
            }
            let manifest = Array(commit.sealedManifest)
            guard Manifest.fileTag(sealedManifest: manifest, chunkTags: file.chunks.lazy.map(\.tag)) == file.fileTag else {
                throw UploadError.tagMismatch("the sealed manifest and announced chunks of \(commit.name) do not make its file tag")
            }
            let attributes = TwinProtocol.normalizedAttributes(commit.attributes)
            let wrapped = Array(commit.attributeWrappedKey)
            _ = try check.seal(commit.ownerSeal, for: EntrySeal.Fields(owner: user, name: commit.name, fileTag: file.fileTag, attributes: attributes,
                                                                       attributeWrappedKey: wrapped, mediaType: commit.mediaType, size: commit.size))
            try check.checkWrap(wrapped, attributes: attributes, name: commit.name)
            committed.append((
                EntryRecord(owner: user, name: commit.name, fileTag: file.fileTag, attributes: attributes,
                            attributeWrappedKey: Array(commit.attributeWrappedKey), ownerWrappedKey: Array(commit.ownerWrappedKey),
                            mediaType: commit.mediaType, size: commit.size, createdAt: now, ownerSeal: Array(commit.ownerSeal)),
                FileRecord(tag: file.fileTag, sealedManifest: manifest, chunks: file.chunks)))
        }
        var replacing: [String: Tag] = [:]
        for commit in commits {
            guard let replaced = commit.replaces else { continue }
            guard replacing.updateValue(replaced, forKey: commit.name) == nil else {
                throw UploadError.unprocessable("\(commit.name) is replaced twice in one commit")
            }
        }
        try await store.commit(committed, sessionID: id, quota: limits.quotaBytes, replacing: replacing, now: now)
        return committed.map(\.entry)
    }
}

extension Array where Element: Hashable {
    func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
