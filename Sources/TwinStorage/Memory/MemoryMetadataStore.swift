import Convergent
import Foundation

/// `MetadataStore` in memory: the second reference implementation, next to SQLite, and the store of
/// the fast server tests. An actor, so each method runs whole before the next begins: every call is
/// one transaction, and a refused call changes nothing (each checks before it writes). Nothing
/// survives the process.
public actor MemoryMetadataStore: MetadataStore {
    private struct Chunk {
        var size: Int
        /// File-chunk positions naming it.
        var refs = 0
        /// Set whenever `refs` is 0: starts the grace period.
        var unreferencedSince: Date?
        var lost = false
        /// Uploads that sent its data.
        var uploads = 1
    }

    private struct Entry {
        var record: EntryRecord
        /// What the entry counts against its owner's quota.
        var charged: Int
    }

    private struct UploadSession {
        var user: String
        var files: [AnnouncedFile]
        var missing: Set<Tag>
        var received: Set<Tag>
        var challenge: OwnershipChallenge?
        var ownershipProven: Bool
        var expiresAt: Date

        var tags: Set<Tag> { Set(files.lazy.flatMap(\.chunks).map(\.tag)).union(missing).union(received) }
    }

    private var users: [String: UserRecord] = [:]
    private var loginChallenges: [[UInt8]: (user: String, expiresAt: Date)] = [:]
    private var sessions: [[UInt8]: (user: String, expiresAt: Date)] = [:]
    private var chunks: [Tag: Chunk] = [:]
    /// Files by tag: the sealed manifest and the chunk tags in order.
    private var files: [Tag: (manifest: [UInt8], chunks: [Tag])] = [:]
    private var entries: [String: [String: Entry]] = [:]
    /// Each owner's entry names in byte order, made when a listing needs them and dropped when the
    /// owner's names change: a listing pages by binary search, not by sorting every entry per page.
    private var sortedNames: [String: [String]] = [:]
    private var grants: [String: [String: GrantRecord]] = [:]  // by owner, then grantee
    private var uploadSessions: [String: UploadSession] = [:]
    private var doomed: Set<Tag> = []
    private let secret = ServerSecret.random()

    public init() {}

    // MARK: Users and authentication

    public func createUser(_ user: UserRecord) throws {
        guard users[user.name] == nil else { throw MetadataStoreError.conflict(.user(user.name)) }
        users[user.name] = user
    }

    public func user(named name: String) -> UserRecord? { users[name] }

    public func storeLoginChallenge(_ nonce: [UInt8], user: String, expiresAt: Date) throws {
        let now = Date()
        loginChallenges = loginChallenges.filter { $0.value.expiresAt > now }
        guard loginChallenges[nonce] == nil else { throw MetadataStoreError.conflict(.loginChallenge) }
        loginChallenges[nonce] = (user, expiresAt)
    }

    public func consumeLoginChallenge(_ nonce: [UInt8], now: Date) -> String? {
        guard let challenge = loginChallenges.removeValue(forKey: nonce) else { return nil }
        return challenge.expiresAt > now ? challenge.user : nil
    }

    public func storeSession(tokenHash: [UInt8], user: String, expiresAt: Date) throws {
        guard users[user] != nil else { throw MetadataStoreError.notFound(.user(user)) }
        let now = Date()
        sessions = sessions.filter { $0.value.expiresAt > now }
        guard sessions[tokenHash] == nil else { throw MetadataStoreError.conflict(.session) }
        sessions[tokenHash] = (user, expiresAt)
    }

    public func serverSecret() -> [UInt8] { secret }

    public func sessionUser(tokenHash: [UInt8], now: Date) -> String? {
        guard let session = sessions[tokenHash], session.expiresAt > now else { return nil }
        return session.user
    }

    // MARK: Chunks and files

    public func storedChunks(_ tags: [Tag]) -> [Tag: Int] {
        var stored: [Tag: Int] = [:]
        for tag in tags { if let chunk = chunks[tag], !chunk.lost { stored[tag] = chunk.size } }
        return stored
    }

    public func file(_ tag: Tag) -> FileRecord? {
        guard let file = files[tag] else { return nil }
        return FileRecord(tag: tag, sealedManifest: file.manifest, chunks: references(file.chunks))
    }

    public func uploadLookup(files announced: [Tag], chunks tags: [Tag], user: String) -> UploadLookup {
        var lists: [Tag: [ChunkReference]] = [:]
        for tag in announced { if let file = files[tag] { lists[tag] = references(file.chunks) } }
        let stored = storedChunks(tags)
        var owned = Set<Tag>()
        for entry in entries[user, default: [:]].values { owned.formUnion(files[entry.record.fileTag]?.chunks ?? []) }
        return UploadLookup(files: lists, chunks: stored, held: Set(stored.keys).intersection(owned),
                            uploads: stored.keys.reduce(into: [:]) { $0[$1] = chunks[$1]?.uploads ?? 1 })
    }

    private func references(_ tags: [Tag]) -> [ChunkReference] {
        tags.map { ChunkReference(tag: $0, size: chunks[$0]?.size ?? 0) }
    }

    // MARK: Upload sessions

    public func createUploadSession(_ session: UploadSessionRecord, maximumLive: Int, now: Date) throws {
        uploadSessions = uploadSessions.filter { $0.value.user != session.user || $0.value.expiresAt > now }
        let live = uploadSessions.values.count { $0.user == session.user }
        guard live < maximumLive else { throw MetadataStoreError.tooManyUploadSessions(user: session.user, live: live) }
        guard uploadSessions[session.id] == nil else { throw MetadataStoreError.conflict(.uploadSession(session.id)) }
        guard users[session.user] != nil else { throw MetadataStoreError.notFound(.user(session.user)) }
        uploadSessions[session.id] = UploadSession(
            user: session.user, files: session.files, missing: session.missing, received: session.received,
            challenge: session.challenge, ownershipProven: session.ownershipProven, expiresAt: session.expiresAt)
    }

    public func uploadSession(id: String) -> UploadSessionRecord? {
        guard let session = uploadSessions[id] else { return nil }
        return UploadSessionRecord(id: id, user: session.user, files: session.files, missing: session.missing,
                                   received: session.received, challenge: session.challenge,
                                   ownershipProven: session.ownershipProven, expiresAt: session.expiresAt)
    }

    public func uploadSessionChunks(id: String, tags: [Tag]) -> UploadSessionChunks? {
        guard let session = uploadSessions[id] else { return nil }
        let wanted = Set(tags)
        var states: [Tag: UploadSessionChunks.State] = [:]
        for chunk in session.files.lazy.flatMap(\.chunks) where wanted.contains(chunk.tag) {
            states[chunk.tag] = .init(size: chunk.size, missing: session.missing.contains(chunk.tag),
                                      received: session.received.contains(chunk.tag))
        }
        return UploadSessionChunks(user: session.user, expiresAt: session.expiresAt, chunks: states)
    }

    public func recordReceived(_ received: [ChunkReference], session id: String?) throws {
        if let collecting = received.first(where: { doomed.contains($0.tag) }) {
            throw MetadataStoreError.collecting(collecting.tag)
        }
        for chunk in received {
            if chunks[chunk.tag] == nil {
                chunks[chunk.tag] = Chunk(size: chunk.size, unreferencedSince: Date())
            } else {
                chunks[chunk.tag]!.lost = false
                chunks[chunk.tag]!.uploads += 1
            }
        }
        guard let id else { return }
        guard uploadSessions[id] != nil else { throw MetadataStoreError.notFound(.uploadSession(id)) }
        uploadSessions[id]!.received.formUnion(received.map(\.tag))
    }

    public func takeChallenge(session id: String) throws -> TakenChallenge? {
        guard let session = uploadSessions[id] else { throw MetadataStoreError.notFound(.uploadSession(id)) }
        guard let challenge = session.challenge else { return nil }
        uploadSessions[id]!.challenge = nil
        return TakenChallenge(user: session.user, challenge: challenge, chunks: session.files.flatMap(\.chunks))
    }

    public func setOwnershipProven(session id: String) throws {
        guard uploadSessions[id] != nil else { throw MetadataStoreError.notFound(.uploadSession(id)) }
        uploadSessions[id]!.ownershipProven = true
    }

    public func deleteUploadSession(id: String) {
        uploadSessions[id] = nil
    }

    // MARK: Entries

    public func commit(_ committed: [(entry: EntryRecord, file: FileRecord)], sessionID: String, quota: Int?,
                       replacing: [String: Tag], now: Date) throws {
        if let mismatch = committed.first(where: { $0.entry.fileTag != $0.file.tag }) {
            throw MetadataStoreError.notFound(.file(mismatch.entry.fileTag))
        }
        let owners = Set(committed.map(\.entry.owner))
        guard owners.count <= 1, let session = uploadSessions[sessionID], session.user == (owners.first ?? ""),
              session.files.map(\.fileTag) == committed.map(\.file.tag) else {
            throw MetadataStoreError.notFound(.uploadSession(sessionID))
        }
        // Everything is checked before anything changes.
        let owner = owners.first ?? session.user
        guard users[owner] != nil else { throw MetadataStoreError.notFound(.user(owner)) }
        for (name, fileTag) in replacing.sorted(by: { $0.key < $1.key }) {
            guard let existing = entries[owner]?[name] else { throw MetadataStoreError.notFound(.entry(owner: owner, name: name)) }
            guard existing.record.fileTag == fileTag else { throw MetadataStoreError.conflict(.entry(owner: owner, name: name)) }
        }
        var names = Set(entries[owner, default: [:]].keys).subtracting(replacing.keys)
        var newFiles = Set<Tag>()
        for (entry, file) in committed {
            guard names.insert(entry.name).inserted else {
                throw MetadataStoreError.conflict(.entry(owner: entry.owner, name: entry.name))
            }
            if files[file.tag] == nil, newFiles.insert(file.tag).inserted,
               let absent = file.chunks.first(where: { chunks[$0.tag] == nil }) {
                throw MetadataStoreError.notFound(.chunk(absent.tag))
            }
        }
        if let quota {
            let used = entries[owner, default: [:]].filter { replacing[$0.key] == nil }.values
                .reduce(0) { $0.addingReportingOverflow($1.charged).partialValue }
                + committed.reduce(0) { $0 + $1.file.storedSize }
            guard used <= quota else { throw MetadataStoreError.quotaExceeded(used: used, quota: quota) }
        }
        uploadSessions[sessionID] = nil
        for name in replacing.keys.sorted() { _ = deleteEntry(owner: owner, name: name, now: now) }
        for (entry, file) in committed {
            if files[file.tag] == nil {
                files[file.tag] = (file.sealedManifest, file.chunks.map(\.tag))
                for chunk in file.chunks {
                    chunks[chunk.tag]!.refs += 1
                    chunks[chunk.tag]!.unreferencedSince = nil
                }
            }
            entries[owner, default: [:]][entry.name] = Entry(record: entry, charged: file.storedSize)
        }
        sortedNames[owner] = nil
    }

    public func entry(owner: String, name: String) -> EntryRecord? { entries[owner]?[name]?.record }

    /// Sorted by name (bytewise, as SQLite and PostgreSQL's C collation compare).
    public func entries(owner: String, prefix: String, after: String?, limit: Int) -> [EntryRecord] {
        let names: [String]
        if let cached = sortedNames[owner] {
            names = cached
        } else {
            names = entries[owner, default: [:]].keys.sorted(by: Self.precedes)
            sortedNames[owner] = names
        }
        // Names with the prefix are contiguous in byte order, from the first one not below it.
        var index = max(Self.firstIndex(in: names) { !Self.precedes($0, prefix) },
                        after.map { after in Self.firstIndex(in: names) { Self.precedes(after, $0) } } ?? 0)
        var page: [EntryRecord] = []
        while index < names.count, page.count < limit, names[index].utf8.starts(with: prefix.utf8) {
            page.append(entries[owner]![names[index]]!.record)
            index += 1
        }
        return page
    }

    private static func precedes(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }

    /// The first index of sorted `names` where `isAtOrPast` holds (it must hold from some index on).
    private static func firstIndex(in names: [String], where isAtOrPast: (String) -> Bool) -> Int {
        var (low, high) = (0, names.count)
        while low < high {
            let middle = (low + high) / 2
            if isAtOrPast(names[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }

    public func deleteEntry(owner: String, name: String, now: Date) -> Bool {
        guard let removed = entries[owner]?.removeValue(forKey: name) else { return false }
        sortedNames[owner] = nil
        let tag = removed.record.fileTag
        let stillUsed = entries.values.contains { $0.values.contains { $0.record.fileTag == tag } }
        guard !stillUsed, let file = files.removeValue(forKey: tag) else { return true }
        for chunk in file.chunks {
            chunks[chunk]!.refs -= 1
            if chunks[chunk]!.refs == 0 { chunks[chunk]!.unreferencedSince = now }
        }
        return true
    }

    public func updateEntryKeys(owner: String, _ updates: [EntryKeyUpdate]) throws {
        for update in updates {
            guard let entry = entries[owner]?[update.name] else { throw MetadataStoreError.notFound(.entry(owner: owner, name: update.name)) }
            guard entry.record.ownerSeal == update.previousSeal else { throw MetadataStoreError.conflict(.entry(owner: owner, name: update.name)) }
        }
        for update in updates {
            entries[owner]![update.name]!.record.attributeWrappedKey = update.attributeWrappedKey
            entries[owner]![update.name]!.record.ownerSeal = update.ownerSeal
        }
    }

    public func collectGarbage(unreferencedBefore cutoff: Date, now: Date) -> [Tag] {
        let live = uploadSessions.values.filter { $0.expiresAt > now }
        let protected = live.reduce(into: Set<Tag>()) { $0.formUnion($1.tags) }
        for (tag, chunk) in chunks where chunk.refs == 0 && chunk.unreferencedSince.map({ $0 < cutoff }) == true
            && !protected.contains(tag) {
            chunks[tag] = nil
            doomed.insert(tag)
        }
        uploadSessions = uploadSessions.filter { $0.value.expiresAt > now }
        loginChallenges = loginChallenges.filter { $0.value.expiresAt > now }
        sessions = sessions.filter { $0.value.expiresAt > now }
        return doomed.sorted()
    }

    public func forgetCollected(_ tags: [Tag]) { doomed.subtract(tags) }

    public func markLost(_ tags: [Tag]) {
        for tag in tags where chunks[tag] != nil { chunks[tag]!.lost = true }
    }

    public func lostChunks() -> [Tag] { chunks.filter(\.value.lost).keys.sorted() }

    public func allChunks() -> [ChunkReference] {
        chunks.map { ChunkReference(tag: $0.key, size: $0.value.size) }.sorted { $0.tag < $1.tag }
    }

    public func referenceAudit() -> ReferenceAudit {
        let all = entries.values.flatMap(\.values).map(\.record)
        return ReferenceAudit(
            entries: all.count,
            entriesWithoutFile: all.filter { files[$0.fileTag] == nil }.map { "\($0.owner)/\($0.name)" }.sorted(),
            unrecordedChunks: Set(files.values.flatMap(\.chunks)).filter { chunks[$0] == nil }.sorted(),
            doomedChunks: doomed.sorted())
    }

    // MARK: Grants

    public func putGrant(_ grant: GrantRecord) throws {
        for name in [grant.owner, grant.grantee] where users[name] == nil { throw MetadataStoreError.notFound(.user(name)) }
        grants[grant.owner, default: [:]][grant.grantee] = grant
    }

    public func grant(owner: String, grantee: String) -> GrantRecord? { grants[owner]?[grantee] }

    /// Sorted by owner.
    public func grants(grantee: String) -> [GrantRecord] {
        grants.values.compactMap { $0[grantee] }.sorted { $0.owner.utf8.lexicographicallyPrecedes($1.owner.utf8) }
    }

    /// Sorted by grantee.
    public func grants(owner: String) -> [GrantRecord] {
        grants[owner, default: [:]].values.sorted { $0.grantee.utf8.lexicographicallyPrecedes($1.grantee.utf8) }
    }

    public func revokeGrant(owner: String, grantee: String) -> Bool {
        grants[owner]?.removeValue(forKey: grantee) != nil
    }

    // MARK: Statistics

    public func userUsage() -> [UserUsage] {
        users.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.map { name in
            let own = entries[name, default: [:]].values
            return UserUsage(user: name, entries: own.count, chargedBytes: own.reduce(0) { $0 + $1.charged })
        }
    }

    public func statistics() -> StoreStatistics {
        let all = entries.values.flatMap(\.values)
        let stored = chunks.values.reduce(0) { $0 + $1.size } + files.values.reduce(0) { $0 + $1.manifest.count }
        return StoreStatistics(users: users.count, entries: all.count, files: files.count, chunks: chunks.count,
                               logicalBytes: all.reduce(0) { $0 + $1.record.size }, storedBytes: stored)
    }
}
