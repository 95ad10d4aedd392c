import Convergent
import Foundation
import GRDB
import Synchronization

/// `MetadataStore` in one SQLite file: the embedded default.
///
/// One connection (a GRDB `DatabaseQueue`, which runs each transaction on its own serial queue: one
/// hop per transaction rather than per statement, with prepared statements cached), in WAL mode
/// (readers never block the writer), with foreign keys enforced and a busy timeout so that several
/// processes can share the file: writes start with `BEGIN IMMEDIATE`, which takes the write lock up
/// front, so two writers queue on the busy timeout instead of deadlocking on a lock upgrade. A read of
/// one statement runs on its own (SQLite makes every statement a consistent snapshot); reads of
/// several run in a deferred transaction.
///
/// Durability comes in two tiers. Every transaction commits with `synchronous = NORMAL`, which in WAL
/// mode is atomic and consistent and appends to the log without syncing it. Records a client was
/// promised (users, entries, grants, deletions, collection, the consumption of a login nonce, so a
/// signed login can never be replayed) then wait for a sync of the log before the method returns:
/// on disk, as the blob store's puts are. The sync is a group commit (`GroupSync`): one sync serves
/// every commit that finished before it started, and it runs off the database's queue, so other
/// transactions proceed meanwhile. Protocol state that a crash may lose harmlessly (login nonces,
/// bearer sessions, upload sessions and their challenges, received-chunk marks) does not wait; it is
/// durable at the next sync or checkpoint. After a power failure such state may roll back a little:
/// a client logs in again or restarts an upload; an ownership challenge may come back (it still needs
/// a valid proof); a chunk whose row was lost while its fsynced blob survived is unknown to the
/// database until a client sends it again under the same tag (the blob store lists such blobs via
/// `allTags` for an audit). Syncing the log at every commit, on the queue, would make every
/// transaction wait for the device.
///
/// Call `close()` when done.
public final class SQLiteMetadataStore: MetadataStore, Sendable {
    private let queue: DatabaseQueue
    private let isClosed = Mutex(false)
    private let logSync: GroupSync

    private init(queue: DatabaseQueue, path: String) {
        self.queue = queue
        self.logSync = GroupSync(syncingFileAt: path + "-wal")
    }

    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    /// - Parameter busyTimeout: how long a write waits for another process's write to finish.
    public static func open(path: String, busyTimeout: Duration = .seconds(10)) async throws -> SQLiteMetadataStore {
        try await open(path: path, busyTimeout: busyTimeout, migrations: SQLiteSchema.migrations)
    }

    /// `open` with another migration list: lets tests exercise upgrades and downgrades.
    static func open(path: String, busyTimeout: Duration = .seconds(10),
                     migrations: [SQLiteSchema.Migration]) async throws -> SQLiteMetadataStore {
        var configuration = Configuration()
        configuration.busyMode = .timeout(Double(busyTimeout.components.seconds)
                                          + Double(busyTimeout.components.attoseconds) / 1e18)
        configuration.foreignKeysEnabled = true
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        do {
            try await queue.writeWithoutTransaction { db in
                let mode = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
                guard mode?.lowercased() == "wal" else {
                    throw SQLiteMetadataStoreError.journalModeUnavailable(mode ?? "unknown")
                }
                // Durable writes sync the log themselves, in groups (see the type's comment).
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
                try migrate(db, migrations: migrations)
            }
        } catch {
            try? queue.close()
            throw error
        }
        let store = SQLiteMetadataStore(queue: queue, path: path)
        try await store.logSync.sync()  // the migrations, committed like any other write
        return store
    }

    /// Waits for the transaction in progress, then closes the connection. Later calls throw
    /// `SQLiteMetadataStoreError.closed`.
    public func close() async throws {
        let wasClosed = isClosed.withLock { closed in
            defer { closed = true }
            return closed
        }
        guard !wasClosed else { return }
        do {
            try queue.close()
        } catch {
            isClosed.withLock { $0 = false }
            throw error
        }
    }

    private static func migrate(_ db: Database, migrations: [SQLiteSchema.Migration]) throws {
        let latest = migrations.last?.version ?? 0
        try db.inTransaction(.immediate) {
            let transaction = Transaction(db: db)
            try transaction.execute(SQLiteSchema.bookkeeping)
            let current = try transaction.rows("SELECT coalesce(max(version), 0) AS version FROM schema_version")
                .first?.integer("version") ?? 0
            guard current <= latest else {
                throw SQLiteMetadataStoreError.unsupportedSchemaVersion(found: current, supported: latest)
            }
            for migration in migrations where migration.version > current {
                for statement in migration.statements { try transaction.execute(statement, cached: false) }
                try transaction.execute("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                                        [SQLiteValue.integer(migration.version), SQLiteValue.date(Date())])
            }
            return .commit
        }
    }

    /// The version of the newest migration applied to the file.
    func schemaVersion() async throws -> Int {
        try await read("SELECT max(version) AS version FROM schema_version")[0].integer("version")
    }

    /// The connection's `PRAGMA synchronous` as SQLite reports it (1 = NORMAL, 2 = FULL).
    func synchronousLevel() async throws -> Int {
        try await read("PRAGMA synchronous")[0].integer("synchronous")
    }

    /// Syncs of the write-ahead log so far.
    var logSyncCount: UInt64 { logSync.syncCount }

    // MARK: Transactions

    fileprivate enum Access {
        /// Several statements reading one consistent snapshot.
        case read
        /// A single read-only statement: no BEGIN and COMMIT around it, since one statement reads one
        /// consistent snapshot anyway.
        case readOneStatement
        /// A write, committed at the given durability.
        case write(Durability)
    }

    fileprivate enum Durability {
        /// On disk when the call returns: the commit waits for a (group) sync of the log.
        case durable
        /// Atomic, durable at the next sync or checkpoint.
        case ephemeral
    }

    /// Runs `body` as one SQLite transaction, committed if it returns and rolled back if it throws.
    ///
    /// A write, once asked for, runs to its end even if the calling task is cancelled (GRDB would
    /// interrupt it): a client hanging up after its chunk's blob was stored must not lose the row
    /// that makes the blob known and collectable.
    private func transaction<T: Sendable>(_ access: Access, _ body: @escaping @Sendable (Transaction) throws -> T) async throws -> T {
        guard !isClosed.withLock({ $0 }) else { throw SQLiteMetadataStoreError.closed }
        let (queue, logSync) = (self.queue, self.logSync)
        let run: @Sendable () async throws -> T = {
            let result = try await queue.writeWithoutTransaction { db in
                let transaction = Transaction(db: db)
                switch access {
                case .readOneStatement:
                    return try body(transaction)
                case .read:
                    return try Self.inTransaction(db, .deferred) { try body(transaction) }
                case .write:
                    return try Self.inTransaction(db, .immediate) { try body(transaction) }
                }
            }
            if case .write(.durable) = access { try await logSync.sync() }
            return result
        }
        do {
            if case .write = access { return try await Task(operation: run).value }
            return try await run()
        } catch let error as DatabaseError where error.resultCode == .SQLITE_MISUSE && isClosed.withLock({ $0 }) {
            throw SQLiteMetadataStoreError.closed  // closed while this call was on its way
        }
    }

    private static func inTransaction<T>(_ db: Database, _ kind: Database.TransactionKind, _ body: () throws -> T) throws -> T {
        var result: T?
        try db.inTransaction(kind) {
            result = try body()
            return .commit
        }
        return result!
    }

    /// Rows of one read-only statement.
    /// Rows in `table` (tests check what a refused request left behind).
    package func rowCount(_ table: String) async throws -> Int {
        try await read("SELECT count(*) AS n FROM \(table)")[0].integer("n")
    }

    private func read(_ sql: String, _ binds: [SQLiteData] = []) async throws -> [SQLiteRow] {
        try await transaction(.readOneStatement) { try $0.rows(sql, binds) }
    }

    // MARK: Users and authentication

    public func createUser(_ user: UserRecord) async throws {
        try await transaction(.write(.durable)) { transaction in
            do {
                try transaction.execute(
                    "INSERT INTO users (name, signing_key, agreement_key, authority_parameters, created_at) VALUES (?, ?, ?, ?, ?)",
                    [.text(user.name), SQLiteValue.bytes(user.signingKey), SQLiteValue.bytes(user.agreementKey),
                     SQLiteValue.bytes(user.authorityParameters), SQLiteValue.date(user.createdAt)])
            } catch let error as DatabaseError where error.isUniquenessViolation {
                throw MetadataStoreError.conflict(.user(user.name))
            }
        }
    }

    public func user(named name: String) async throws -> UserRecord? {
        try await read("SELECT * FROM users WHERE name = ?", [.text(name)]).first.map { row in
            UserRecord(name: try row.string("name"), signingKey: try row.bytes("signing_key"),
                       agreementKey: try row.bytes("agreement_key"),
                       authorityParameters: try row.bytes("authority_parameters"),
                       createdAt: try row.date("created_at"))
        }
    }

    /// `user` need not exist: a nonce for an unknown name simply never leads to a session.
    public func storeLoginChallenge(_ nonce: [UInt8], user: String, expiresAt: Date) async throws {
        try await transaction(.write(.ephemeral)) { transaction in
            do {
                // Expired nonces go as new ones come, so a busy server's table holds only live ones.
                try transaction.execute("DELETE FROM login_challenges WHERE expires_at <= ?", [SQLiteValue.date(Date())])
                try transaction.execute("INSERT INTO login_challenges (nonce, user, expires_at) VALUES (?, ?, ?)",
                                              [SQLiteValue.bytes(nonce), .text(user), SQLiteValue.date(expiresAt)])
            } catch let error as DatabaseError where error.isUniquenessViolation {
                throw MetadataStoreError.conflict(.loginChallenge)
            }
        }
    }

    public func consumeLoginChallenge(_ nonce: [UInt8], now: Date) async throws -> String? {
        try await transaction(.write(.durable)) { transaction in
            // Deleted whether or not it expired: an expired nonce is dead either way.
            guard let row = try transaction.rows(
                "DELETE FROM login_challenges WHERE nonce = ? RETURNING user, expires_at", [SQLiteValue.bytes(nonce)]
            ).first else { return nil }
            return try row.date("expires_at") > now ? try row.string("user") : nil
        }
    }

    public func storeSession(tokenHash: [UInt8], user: String, expiresAt: Date) async throws {
        try await transaction(.write(.ephemeral)) { transaction in
            do {
                try transaction.execute("DELETE FROM sessions WHERE expires_at <= ?", [SQLiteValue.date(Date())])
                try transaction.execute("INSERT INTO sessions (token_hash, user, expires_at) VALUES (?, ?, ?)",
                                              [SQLiteValue.bytes(tokenHash), .text(user), SQLiteValue.date(expiresAt)])
            } catch let error as DatabaseError where error.isUniquenessViolation {
                throw MetadataStoreError.conflict(.session)
            } catch let error as DatabaseError where error.isForeignKeyViolation {
                throw MetadataStoreError.notFound(.user(user))
            }
        }
    }

    public func sessionUser(tokenHash: [UInt8], now: Date) async throws -> String? {
        try await read("SELECT user FROM sessions WHERE token_hash = ? AND expires_at > ?",
                       [SQLiteValue.bytes(tokenHash), SQLiteValue.date(now)]).first?.string("user")
    }

    public func serverSecret() async throws -> [UInt8] {
        let fresh = ServerSecret.random()
        return try await transaction(.write(.durable)) { transaction in
            try transaction.execute("INSERT OR IGNORE INTO server_secret (id, secret) VALUES (1, ?)", [SQLiteValue.bytes(fresh)])
            return try transaction.rows("SELECT secret FROM server_secret WHERE id = 1")[0].bytes("secret")
        }
    }

    // MARK: Chunks and files

    public func storedChunks(_ tags: [Tag]) async throws -> [Tag: Int] {
        try await transaction(Transaction.readAccess(forTagCount: tags.count)) { transaction in try transaction.storedChunks(tags) }
    }

    public func markLost(_ tags: [Tag]) async throws {
        try await transaction(.write(.durable)) { transaction in
            _ = try transaction.rows(whereTagIn: tags) { "UPDATE chunks SET lost = 1 WHERE tag IN (\($0)) RETURNING tag" }
        }
    }

    public func lostChunks() async throws -> [Tag] {
        try await read("SELECT tag FROM chunks WHERE lost = 1 ORDER BY tag").map { try $0.tag("tag") }
    }

    public func referenceAudit() async throws -> ReferenceAudit {
        try await transaction(.read) { transaction in
            ReferenceAudit(
                entries: try transaction.rows("SELECT count(*) AS n FROM entries")[0].integer("n"),
                entriesWithoutFile: try transaction.rows(
                    "SELECT owner, name FROM entries WHERE NOT EXISTS (SELECT 1 FROM files WHERE files.tag = entries.file_tag)"
                ).map { "\(try $0.string("owner"))/\(try $0.string("name"))" },
                unrecordedChunks: try transaction.rows("""
                    SELECT DISTINCT chunk_tag AS tag FROM file_chunks
                    WHERE NOT EXISTS (SELECT 1 FROM chunks WHERE chunks.tag = file_chunks.chunk_tag) ORDER BY chunk_tag
                    """).map { try $0.tag("tag") },
                doomedChunks: try transaction.rows("SELECT tag FROM doomed_chunks ORDER BY tag").map { try $0.tag("tag") })
        }
    }

    /// SQLite's own `PRAGMA integrity_check`: ["ok"] for a sound file, otherwise what it found.
    public func integrityCheck() async throws -> [String] {
        try await read("PRAGMA integrity_check").map { try $0.string("integrity_check") }
    }

    public func allChunks() async throws -> [ChunkReference] {
        try await read("SELECT tag, size FROM chunks ORDER BY tag").map { ChunkReference(tag: try $0.tag("tag"), size: try $0.integer("size")) }
    }

    public func file(_ tag: Tag) async throws -> FileRecord? {
        try await transaction(.read) { transaction in
            guard let row = try transaction.rows("SELECT manifest FROM files WHERE tag = ?", [SQLiteValue.tag(tag)]).first else {
                return nil
            }
            return FileRecord(tag: tag, sealedManifest: try row.bytes("manifest"), chunks: try transaction.chunks(ofFile: tag))
        }
    }

    public func uploadLookup(files: [Tag], chunks: [Tag], user: String) async throws -> UploadLookup {
        try await transaction(.read) { transaction in
            var stored: [Tag: Int] = [:], uploads: [Tag: Int] = [:]
            for row in try transaction.rows(whereTagIn: chunks, { "SELECT tag, size, uploads FROM chunks WHERE lost = 0 AND tag IN (\($0))" }) {
                let tag = try row.tag("tag")
                stored[tag] = try row.integer("size")
                uploads[tag] = try row.integer("uploads")
            }
            return UploadLookup(files: try transaction.fileChunks(files), chunks: stored,
                                held: try transaction.chunksHeld(by: user, among: Array(stored.keys)), uploads: uploads)
        }
    }

    // MARK: Upload sessions

    public func createUploadSession(_ session: UploadSessionRecord, maximumLive: Int, now: Date) async throws {
        try await transaction(.write(.ephemeral)) { transaction in
            try transaction.execute("DELETE FROM upload_sessions WHERE user = ? AND expires_at <= ?",
                                    [.text(session.user), SQLiteValue.date(now)])
            let live = try transaction.rows("SELECT count(*) AS live FROM upload_sessions WHERE user = ?",
                                            [.text(session.user)])[0].integer("live")
            guard live < maximumLive else {
                throw MetadataStoreError.tooManyUploadSessions(user: session.user, live: live)
            }
            do {
                try transaction.execute("""
                    INSERT INTO upload_sessions (id, user, challenge, ownership_proven, expires_at) VALUES (?, ?, ?, ?, ?)
                    """, [.text(session.id), .text(session.user),
                          session.challenge.map { SQLiteValue.bytes(ChallengeCoding.encode($0)) } ?? .null,
                          SQLiteValue.bool(session.ownershipProven), SQLiteValue.date(session.expiresAt)])
            } catch let error as DatabaseError where error.isUniquenessViolation {
                throw MetadataStoreError.conflict(.uploadSession(session.id))
            } catch let error as DatabaseError where error.isForeignKeyViolation {
                throw MetadataStoreError.notFound(.user(session.user))
            }
            try transaction.insert(into: "upload_session_files (session, position, file_tag, chunks)",
                                   rows: session.files.enumerated().map { position, file in
                [.text(session.id), SQLiteValue.integer(position), SQLiteValue.tag(file.fileTag),
                 SQLiteValue.bytes(ChunkListCoding.encode(file.chunks))]
            })
            let tags = Set(session.files.lazy.flatMap(\.chunks).map(\.tag)).union(session.missing).union(session.received)
            let rows = tags.sorted().map { tag in
                [.text(session.id), SQLiteValue.tag(tag), SQLiteValue.bool(session.missing.contains(tag)),
                 SQLiteValue.bool(session.received.contains(tag))]
            }
            try transaction.insert(into: "upload_session_tags (session, tag, missing, received)", rows: rows)
        }
    }

    public func uploadSession(id: String) async throws -> UploadSessionRecord? {
        try await transaction(.read) { transaction in
            guard let row = try transaction.rows("SELECT * FROM upload_sessions WHERE id = ?", [.text(id)]).first else {
                return nil
            }
            var missing = Set<Tag>(), received = Set<Tag>()
            for tagRow in try transaction.rows(
                "SELECT tag, missing, received FROM upload_session_tags WHERE session = ?", [.text(id)]) {
                let tag = try tagRow.tag("tag")
                if try tagRow.bool("missing") { missing.insert(tag) }
                if try tagRow.bool("received") { received.insert(tag) }
            }
            let challenge = try ChallengeCoding.decode(row.column("challenge"), column: "challenge")
            return UploadSessionRecord(
                id: id, user: try row.string("user"), files: try transaction.announcedFiles(session: id),
                missing: missing, received: received, challenge: challenge,
                ownershipProven: try row.bool("ownership_proven"), expiresAt: try row.date("expires_at"))
        }
    }

    public func uploadSessionChunks(id: String, tags: [Tag]) async throws -> UploadSessionChunks? {
        try await transaction(.read) { transaction in
            guard let row = try transaction.rows("SELECT user, expires_at FROM upload_sessions WHERE id = ?", [.text(id)]).first else {
                return nil
            }
            var sizes: [Tag: Int] = [:]
            let wanted = Set(tags)
            for file in try transaction.announcedFiles(session: id) {
                for chunk in file.chunks where wanted.contains(chunk.tag) { sizes[chunk.tag] = chunk.size }
            }
            var chunks: [Tag: UploadSessionChunks.State] = [:]
            for state in try transaction.rows(whereTagIn: Array(sizes.keys), { """
                SELECT tag, missing, received FROM upload_session_tags WHERE session = ? AND tag IN (\($0))
                """ }, leading: [.text(id)]) {
                let tag = try state.tag("tag")
                chunks[tag] = .init(size: sizes[tag]!, missing: try state.bool("missing"), received: try state.bool("received"))
            }
            return UploadSessionChunks(user: try row.string("user"), expiresAt: try row.date("expires_at"), chunks: chunks)
        }
    }

    /// One transaction for all the records.
    public func recordReceived(_ chunks: [ChunkReference], session id: String?) async throws {
        // The chunk rows commit even when the session is gone: their blobs are stored and must be known.
        let sessionExists = try await transaction(.write(.ephemeral)) { transaction in
            try transaction.refuseCollecting(chunks.map(\.tag))
            var exists = true
            for chunk in chunks {
                try transaction.recordChunk(chunk)
                if let id { exists = try transaction.markReceived(chunk.tag, session: id) && exists }
            }
            return exists
        }
        if !sessionExists, let id { throw MetadataStoreError.notFound(.uploadSession(id)) }
    }

    public func takeChallenge(session id: String) async throws -> TakenChallenge? {
        try await transaction(.write(.ephemeral)) { transaction in
            guard let row = try transaction.rows("SELECT user, challenge FROM upload_sessions WHERE id = ?", [.text(id)]).first else {
                throw MetadataStoreError.notFound(.uploadSession(id))
            }
            guard let challenge = try ChallengeCoding.decode(row.column("challenge"), column: "challenge") else { return nil }
            try transaction.execute("UPDATE upload_sessions SET challenge = NULL WHERE id = ?", [.text(id)])
            return TakenChallenge(user: try row.string("user"), challenge: challenge,
                                  chunks: try transaction.announcedFiles(session: id).flatMap(\.chunks))
        }
    }

    /// Throws `.notFound` when there is no such session.
    public func setOwnershipProven(session id: String) async throws {
        try await transaction(.write(.ephemeral)) { transaction in
            guard try !transaction.rows(
                "UPDATE upload_sessions SET ownership_proven = 1 WHERE id = ? RETURNING id", [.text(id)]).isEmpty else {
                throw MetadataStoreError.notFound(.uploadSession(id))
            }
        }
    }

    /// Deleting an absent session is not an error (it may have been committed or collected).
    public func deleteUploadSession(id: String) async throws {
        try await transaction(.write(.ephemeral)) { transaction in
            try transaction.execute("DELETE FROM upload_sessions WHERE id = ?", [.text(id)])
        }
    }

    // MARK: Entries

    /// One durable transaction; the refusals are the protocol's (each would leave references the
    /// store cannot honour).
    public func commit(_ entries: [(entry: EntryRecord, file: FileRecord)], sessionID: String, quota: Int?,
                       replacing: [String: Tag], now: Date) async throws {
        if let mismatch = entries.first(where: { $0.entry.fileTag != $0.file.tag }) {
            throw MetadataStoreError.notFound(.file(mismatch.entry.fileTag))
        }
        let owners = Set(entries.map(\.entry.owner))
        try await transaction(.write(.durable)) { transaction in
            let announced = try transaction.announcedFiles(session: sessionID).map(\.fileTag)
            guard owners.count <= 1,
                  announced == entries.map(\.file.tag),
                  try !transaction.rows("DELETE FROM upload_sessions WHERE id = ? AND user = ? RETURNING id",
                                        [.text(sessionID), .text(owners.first ?? "")]).isEmpty else {
                throw MetadataStoreError.notFound(.uploadSession(sessionID))
            }
            let owner = owners.first ?? ""
            for (name, fileTag) in replacing.sorted(by: { $0.key < $1.key }) {
                switch try transaction.removeEntry(owner: owner, name: name, naming: fileTag, now: now) {
                case .removed: break
                case .absent: throw MetadataStoreError.notFound(.entry(owner: owner, name: name))
                case .namesAnotherFile: throw MetadataStoreError.conflict(.entry(owner: owner, name: name))
                }
            }
            for (entry, file) in entries { try transaction.commit(entry, file: file) }
            if let quota, let owner = owners.first {
                let used = try transaction.rows("SELECT CAST(min(total(charged), 9.0e18) AS INTEGER) AS used FROM entries WHERE owner = ?",
                                                [.text(owner)])[0].integer("used")
                guard used <= quota else { throw MetadataStoreError.quotaExceeded(used: used, quota: quota) }
            }
        }
    }

    public func entry(owner: String, name: String) async throws -> EntryRecord? {
        try await read("SELECT * FROM entries WHERE owner = ? AND name = ?", [.text(owner), .text(name)])
            .first.map(Self.entry(from:))
    }

    /// Sorted by name.
    /// The prefix bounds a range of the primary key (`name >= prefix`); `substr` keeps exactly the
    /// names that start with it. Names compare bytewise (SQLite's BINARY collation).
    public func entries(owner: String, prefix: String, after: String?, limit: Int) async throws -> [EntryRecord] {
        try await read("""
            SELECT * FROM entries WHERE owner = ? AND name >= ? AND name > ? AND substr(name, 1, length(?)) = ?
            ORDER BY name LIMIT ?
            """, [.text(owner), .text(prefix), .text(after ?? ""), .text(prefix), .text(prefix), SQLiteValue.integer(min(limit, Int(Int64.max)))])
            .map(Self.entry(from:))
    }

    private static func entry(from row: SQLiteRow) throws -> EntryRecord {
        EntryRecord(owner: try row.string("owner"), name: try row.string("name"), fileTag: try row.tag("file_tag"),
                    attributes: try row.stringList("attributes"), attributeWrappedKey: try row.bytes("abe_key"),
                    ownerWrappedKey: try row.bytes("owner_key"), mediaType: try row.string("media_type"),
                    size: try row.integer("size"), createdAt: try row.date("created_at"), ownerSeal: try row.bytes("owner_seal"))
    }

    public func deleteEntry(owner: String, name: String, now: Date) async throws -> Bool {
        try await transaction(.write(.durable)) { transaction in
            try transaction.removeEntry(owner: owner, name: name, naming: nil, now: now) == .removed
        }
    }

    public func updateEntryKeys(owner: String, _ updates: [EntryKeyUpdate]) async throws {
        try await transaction(.write(.durable)) { transaction in
            for update in updates {
                guard try transaction.rows(
                    "UPDATE entries SET abe_key = ?, owner_seal = ? WHERE owner = ? AND name = ? AND owner_seal = ? RETURNING 1",
                    [SQLiteValue.bytes(update.attributeWrappedKey), SQLiteValue.bytes(update.ownerSeal), .text(owner),
                     .text(update.name), SQLiteValue.bytes(update.previousSeal)]).isEmpty else { continue }
                let exists = try !transaction.rows("SELECT 1 FROM entries WHERE owner = ? AND name = ?", [.text(owner), .text(update.name)]).isEmpty
                throw exists ? MetadataStoreError.conflict(.entry(owner: owner, name: update.name))
                             : MetadataStoreError.notFound(.entry(owner: owner, name: update.name))
            }
        }
    }

    /// Also forgets what has expired at `now`: upload sessions (which then protect no chunk), login
    /// challenges and sessions, so that periodic collection keeps every table bounded.
    ///
    /// Collected chunks move to `doomed_chunks` in the same transaction, and stay there until
    /// `forgetCollected`: while a tag is doomed, recording it again is refused (`.busy`), so no
    /// upload can record a blob the collector is about to delete, whichever process runs either.
    /// Doomed tags left by a collector that died before `forgetCollected` come back with the next
    /// pass, whose caller deletes their blobs again (deleting is idempotent).
    public func collectGarbage(unreferencedBefore cutoff: Date, now: Date) async throws -> [Tag] {
        try await transaction(.write(.durable)) { transaction in
            let collected = try transaction.rows("""
                DELETE FROM chunks
                WHERE refs = 0 AND unreferenced_since < ?
                  AND NOT EXISTS (
                      SELECT 1 FROM upload_session_tags JOIN upload_sessions ON upload_sessions.id = upload_session_tags.session
                      WHERE upload_session_tags.tag = chunks.tag AND upload_sessions.expires_at > ?)
                RETURNING tag
                """, [SQLiteValue.date(cutoff), SQLiteValue.date(now)]).map { try $0.tag("tag") }
            if !collected.isEmpty {
                try transaction.insert(into: "doomed_chunks (tag, since)",
                                       rows: collected.map { [SQLiteValue.tag($0), SQLiteValue.date(now)] })
            }
            for table in ["upload_sessions", "login_challenges", "sessions"] {
                try transaction.execute("DELETE FROM \(table) WHERE expires_at <= ?", [SQLiteValue.date(now)])
            }
            return try transaction.rows("SELECT tag FROM doomed_chunks ORDER BY tag").map { try $0.tag("tag") }
        }
    }

    public func forgetCollected(_ tags: [Tag]) async throws {
        try await transaction(.write(.durable)) { transaction in
            _ = try transaction.rows(whereTagIn: tags) { "DELETE FROM doomed_chunks WHERE tag IN (\($0)) RETURNING tag" }
        }
    }

    // MARK: Grants

    public func putGrant(_ grant: GrantRecord) async throws {
        try await transaction(.write(.durable)) { transaction in
            do {
                try transaction.execute("""
                    INSERT INTO grants (owner, grantee, policy, sealed_key, created_at) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (owner, grantee) DO UPDATE
                    SET policy = excluded.policy, sealed_key = excluded.sealed_key, created_at = excluded.created_at
                    """, [.text(grant.owner), .text(grant.grantee), .text(grant.policy),
                          SQLiteValue.bytes(grant.sealedKey), SQLiteValue.date(grant.createdAt)])
            } catch let error as DatabaseError where error.isForeignKeyViolation {
                throw MetadataStoreError.notFound(.user(try transaction.rows("SELECT 1 FROM users WHERE name = ?", [.text(grant.owner)]).isEmpty ? grant.owner : grant.grantee))
            }
        }
    }

    public func grant(owner: String, grantee: String) async throws -> GrantRecord? {
        try await read("SELECT * FROM grants WHERE owner = ? AND grantee = ?", [.text(owner), .text(grantee)])
            .first.map(Self.grant(from:))
    }

    /// Sorted by owner.
    public func grants(grantee: String) async throws -> [GrantRecord] {
        try await read("SELECT * FROM grants WHERE grantee = ? ORDER BY owner", [.text(grantee)])
            .map(Self.grant(from:))
    }

    public func grants(owner: String) async throws -> [GrantRecord] {
        try await read("SELECT * FROM grants WHERE owner = ? ORDER BY grantee", [.text(owner)])
            .map(Self.grant(from:))
    }

    private static func grant(from row: SQLiteRow) throws -> GrantRecord {
        GrantRecord(owner: try row.string("owner"), grantee: try row.string("grantee"), policy: try row.string("policy"),
                    sealedKey: try row.bytes("sealed_key"), createdAt: try row.date("created_at"))
    }

    public func revokeGrant(owner: String, grantee: String) async throws -> Bool {
        try await transaction(.write(.durable)) { transaction in
            try !transaction.rows("DELETE FROM grants WHERE owner = ? AND grantee = ? RETURNING owner",
                                        [.text(owner), .text(grantee)]).isEmpty
        }
    }

    // MARK: Statistics

    public func userUsage() async throws -> [UserUsage] {
        try await read("""
            SELECT users.name AS name, count(entries.name) AS entries, CAST(min(total(entries.charged), 9.0e18) AS INTEGER) AS charged
            FROM users LEFT JOIN entries ON entries.owner = users.name GROUP BY users.name ORDER BY users.name
            """).map { UserUsage(user: try $0.string("name"), entries: try $0.integer("entries"), chargedBytes: try $0.integer("charged")) }
    }

    public func statistics() async throws -> StoreStatistics {
        try await transaction(.read) { transaction in
            let row = try transaction.rows("""
                SELECT (SELECT count(*) FROM users) AS users,
                       (SELECT count(*) FROM entries) AS entries,
                       (SELECT count(*) FROM files) AS files,
                       (SELECT count(*) FROM chunks) AS chunks,
                       (SELECT CAST(min(total(size), 9.0e18) AS INTEGER) FROM entries) AS logical_bytes,
                       CAST(min((SELECT total(size) FROM chunks) + (SELECT total(length(manifest)) FROM files), 9.0e18)
                            AS INTEGER) AS stored_bytes
                """)[0]
            return StoreStatistics(users: try row.integer("users"), entries: try row.integer("entries"),
                                   files: try row.integer("files"), chunks: try row.integer("chunks"),
                                   logicalBytes: try row.integer("logical_bytes"),
                                   storedBytes: try row.integer("stored_bytes"))
        }
    }
}

/// Statements on the store's connection, inside the transaction `SQLiteMetadataStore.transaction`
/// opened (or, for `.readOneStatement`, as a statement of its own).
private struct Transaction {
    let db: Database

    /// Prepared once per connection and reused, unless the statement text varies with its
    /// arguments (`cached: false`: IN lists and multi-row inserts of varying length).
    func rows(_ sql: String, _ binds: [SQLiteData] = [], cached: Bool = true) throws -> [SQLiteRow] {
        let statement = cached ? try db.cachedStatement(sql: sql) : try db.makeStatement(sql: sql)
        return try Row.fetchAll(statement, arguments: StatementArguments(binds)).map(SQLiteRow.init)
    }

    func execute(_ sql: String, _ binds: [SQLiteData] = [], cached: Bool = true) throws {
        let statement = cached ? try db.cachedStatement(sql: sql) : try db.makeStatement(sql: sql)
        try statement.execute(arguments: StatementArguments(binds))
    }

    /// Multi-row INSERT in batches, to keep each statement's bound-variable count modest.
    func insert(into target: String, rows: [[SQLiteData]]) throws {
        guard let width = rows.first?.count else { return }
        let tuple = "(" + Array(repeating: "?", count: width).joined(separator: ", ") + ")"
        for start in stride(from: 0, to: rows.count, by: 200) {
            let batch = rows[start..<min(rows.count, start + 200)]
            try execute("INSERT INTO \(target) VALUES " + Array(repeating: tuple, count: batch.count).joined(separator: ", "),
                        batch.flatMap { $0 }, cached: false)
        }
    }

    func storedChunks(_ tags: [Tag]) throws -> [Tag: Int] {
        var stored: [Tag: Int] = [:]
        for row in try rows(whereTagIn: tags, { "SELECT tag, size FROM chunks WHERE lost = 0 AND tag IN (\($0))" }) {
            stored[try row.tag("tag")] = try row.integer("size")
        }
        return stored
    }

    /// Throws `.busy` when a collector is deleting one of `tags`' blobs.
    func refuseCollecting(_ tags: [Tag]) throws {
        if let doomed = try rows(whereTagIn: tags, { "SELECT tag FROM doomed_chunks WHERE tag IN (\($0)) LIMIT 1" }).first {
            throw MetadataStoreError.collecting(try doomed.tag("tag"))
        }
    }

    /// The stored chunks among `tags` that `owner` holds (see `MetadataStore.uploadLookup`).
    func chunksHeld(by owner: String, among tags: [Tag]) throws -> Set<Tag> {
        var held = Set<Tag>()
        for row in try rows(whereTagIn: tags, { list in """
            SELECT DISTINCT file_chunks.chunk_tag AS tag FROM file_chunks
            JOIN entries ON entries.file_tag = file_chunks.file_tag
            WHERE entries.owner = ? AND file_chunks.chunk_tag IN (\(list))
            """ }, leading: [.text(owner)]) {
            held.insert(try row.tag("tag"))
        }
        return held
    }

    /// See `MetadataStore.fileChunks`.
    func fileChunks(_ tags: [Tag]) throws -> [Tag: [ChunkReference]] {
        var lists: [Tag: [ChunkReference]] = [:]
        for row in try rows(whereTagIn: tags, { "SELECT tag FROM files WHERE tag IN (\($0))" }) {
            let tag = try row.tag("tag")
            lists[tag] = try chunks(ofFile: tag)
        }
        return lists
    }

    static let tagBatch = 500

    /// How to read a query over `count` tags: one statement needs no transaction, several do.
    static func readAccess(forTagCount count: Int) -> SQLiteMetadataStore.Access {
        count <= tagBatch ? .readOneStatement : .read
    }

    /// Rows of `sql(placeholders)` for the distinct `tags`, queried in batches of `tagBatch` so each
    /// statement's bound-variable count stays modest; `leading` values bind before each batch's tags.
    func rows(whereTagIn tags: [Tag], _ sql: (String) -> String, leading: [SQLiteData] = []) throws -> [SQLiteRow] {
        let unique = Array(Set(tags))
        var result: [SQLiteRow] = []
        for start in stride(from: 0, to: unique.count, by: Self.tagBatch) {
            let batch = unique[start..<min(unique.count, start + Self.tagBatch)]
            let list = Array(repeating: "?", count: batch.count).joined(separator: ", ")
            result += try rows(sql(list), leading + batch.map(SQLiteValue.tag), cached: false)
        }
        return result
    }

    /// A stored file's chunks, in order.
    func chunks(ofFile tag: Tag) throws -> [ChunkReference] {
        try rows("""
            SELECT file_chunks.chunk_tag AS tag, chunks.size AS size
            FROM file_chunks JOIN chunks ON chunks.tag = file_chunks.chunk_tag
            WHERE file_chunks.file_tag = ? ORDER BY file_chunks.position
            """, [SQLiteValue.tag(tag)]).map { ChunkReference(tag: try $0.tag("tag"), size: try $0.integer("size")) }
    }

    /// The files session `id` announced, in order (none when there is no such session).
    func announcedFiles(session id: String) throws -> [AnnouncedFile] {
        try rows("SELECT file_tag, chunks FROM upload_session_files WHERE session = ? ORDER BY position", [.text(id)]).map {
            guard let chunks = ChunkListCoding.decode(try $0.bytes("chunks")) else {
                throw SQLiteMetadataStoreError.malformedRow(column: "chunks")
            }
            return AnnouncedFile(fileTag: try $0.tag("file_tag"), chunks: chunks)
        }
    }

    /// Removes the entry and its reference, if it names `fileTag` (any file when nil); a file left
    /// without entries goes with its chunk references, and a chunk reaching zero starts its grace
    /// period at `now`.
    func removeEntry(owner: String, name: String, naming fileTag: Tag?, now: Date) throws -> EntryRemoval {
        guard let row = try rows(
            "DELETE FROM entries WHERE owner = ? AND name = ? AND (? IS NULL OR file_tag = ?) RETURNING file_tag",
            [.text(owner), .text(name), fileTag.map(SQLiteValue.tag) ?? .null, fileTag.map(SQLiteValue.tag) ?? .null]
        ).first else {
            guard fileTag != nil, try !rows("SELECT 1 FROM entries WHERE owner = ? AND name = ?", [.text(owner), .text(name)]).isEmpty else {
                return .absent
            }
            return .namesAnotherFile
        }
        let file = SQLiteValue.tag(try row.tag("file_tag"))
        let stillUsed = try !rows("SELECT 1 FROM entries WHERE file_tag = ? LIMIT 1", [file]).isEmpty
        guard !stillUsed else { return .removed }
        // The last entry is gone: drop the file's chunk references; a chunk reaching zero starts
        // its grace period now (right-hand sides see the old refs).
        try execute("""
            UPDATE chunks SET refs = refs - uses.count,
                unreferenced_since = CASE WHEN refs = uses.count THEN ? ELSE NULL END
            FROM (SELECT chunk_tag, count(*) AS count FROM file_chunks WHERE file_tag = ? GROUP BY chunk_tag) AS uses
            WHERE chunks.tag = uses.chunk_tag
            """, [SQLiteValue.date(now), file])
        try execute("DELETE FROM file_chunks WHERE file_tag = ?", [file])
        try execute("DELETE FROM files WHERE tag = ?", [file])
        return .removed
    }

    /// Adds `file` if its tag is new (one reference per chunk position) and `entry` pointing at it.
    func commit(_ entry: EntryRecord, file: FileRecord) throws {
        // Files are shared: only the first commit of a tag stores it and references its chunks.
        let isNew = try !rows(
            "INSERT INTO files (tag, manifest) VALUES (?, ?) ON CONFLICT (tag) DO NOTHING RETURNING tag",
            [SQLiteValue.tag(file.tag), SQLiteValue.bytes(file.sealedManifest)]).isEmpty
        if isNew {
            let stored = try storedChunks(file.chunks.map(\.tag))
            if let absent = file.chunks.first(where: { stored[$0.tag] == nil }) {
                throw MetadataStoreError.notFound(.chunk(absent.tag))
            }
            let rows = file.chunks.enumerated().map { position, chunk in
                [SQLiteValue.tag(file.tag), SQLiteValue.integer(position), SQLiteValue.tag(chunk.tag)]
            }
            try insert(into: "file_chunks (file_tag, position, chunk_tag)", rows: rows)
            // One reference per position, so a chunk repeated inside a file counts once per use.
            try execute("""
                UPDATE chunks SET refs = refs + uses.count, unreferenced_since = NULL
                FROM (SELECT chunk_tag, count(*) AS count FROM file_chunks WHERE file_tag = ? GROUP BY chunk_tag) AS uses
                WHERE chunks.tag = uses.chunk_tag
                """, [SQLiteValue.tag(file.tag)])
        }
        do {
            try execute("""
                INSERT INTO entries (owner, name, file_tag, attributes, abe_key, owner_key, media_type, size, created_at, charged, owner_seal)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, [.text(entry.owner), .text(entry.name), SQLiteValue.tag(entry.fileTag),
                      try SQLiteValue.json(entry.attributes), SQLiteValue.bytes(entry.attributeWrappedKey),
                      SQLiteValue.bytes(entry.ownerWrappedKey), .text(entry.mediaType),
                      SQLiteValue.integer(entry.size), SQLiteValue.date(entry.createdAt), SQLiteValue.integer(file.storedSize),
                      SQLiteValue.bytes(entry.ownerSeal)])
        } catch let error as DatabaseError where error.isUniquenessViolation {
            throw MetadataStoreError.conflict(.entry(owner: entry.owner, name: entry.name))
        } catch let error as DatabaseError where error.isForeignKeyViolation {
            throw MetadataStoreError.notFound(.user(entry.owner))
        }
    }

    func recordChunk(_ chunk: ChunkReference) throws {
        try execute(
            "INSERT INTO chunks (tag, size, refs, unreferenced_since) VALUES (?, ?, 0, ?) ON CONFLICT (tag) DO UPDATE SET lost = 0, uploads = uploads + 1",
            [SQLiteValue.tag(chunk.tag), SQLiteValue.integer(chunk.size), SQLiteValue.date(Date())])
    }

    /// Marks `tag` received in session `id`; false when there is no such session.
    func markReceived(_ tag: Tag, session id: String) throws -> Bool {
        do {
            try execute("""
                INSERT INTO upload_session_tags (session, tag, missing, received) VALUES (?, ?, 0, 1)
                ON CONFLICT (session, tag) DO UPDATE SET received = 1
                """, [.text(id), SQLiteValue.tag(tag)])
            return true
        } catch let error as DatabaseError where error.isForeignKeyViolation {
            return false
        }
    }
}

private extension DatabaseError {
    var isUniquenessViolation: Bool {
        extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY || extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE
    }

    var isForeignKeyViolation: Bool { extendedResultCode == .SQLITE_CONSTRAINT_FOREIGNKEY }
}
