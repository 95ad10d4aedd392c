import Convergent
import Foundation
import Logging
import NIOCore
import PostgresNIO
import ServiceLifecycle
import Synchronization
import TwinStorage

/// `MetadataStore` on PostgreSQL, for several servers sharing one database.
///
/// A pool of connections (`PostgresClient`), which is a ServiceLifecycle service: run the store (or
/// its client) for as long as it is used, then call `migrate()` once before the first request. Every
/// method is one transaction at READ COMMITTED; the ones that read several statements as one
/// snapshot run at REPEATABLE READ. A transaction that PostgreSQL aborts for a deadlock or a
/// serialization failure is run again, a few times.
///
/// Garbage collection and recording chunks exclude each other through one advisory lock: a
/// collection pass holds it exclusively while it picks and dooms chunks; recording chunks, creating
/// an upload session and committing hold it shared. So no node records (or makes a session or file
/// name) a chunk while another node's collector decides to delete its blob, and a begin's re-read of
/// its stored chunks sees every collection that finished before its session existed.
///
/// Everything is durable on return (PostgreSQL's own `synchronous_commit`).
public final class PostgresMetadataStore: MetadataStore, Service {
    public let client: PostgresClient
    private let logger: Logger
    /// The schema holding the tables (`public` unless the URL names one).
    public let schema: String

    /// The advisory lock shared by writers of chunk records and held alone by collection.
    static let collectionLock: Int64 = 0x7477_6763  // "twgc"

    /// - Parameters:
    ///   - url: `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?schema=NAME]`. Without a password
    ///     in the URL, `PGPASSWORD` from the environment is used, as libpq does.
    public convenience init(url: String, environment: [String: String] = ProcessInfo.processInfo.environment,
                            logger: Logger) throws {
        let location = try PostgresLocation(url, environment: environment)
        self.init(configuration: location.configuration, schema: location.schema, logger: logger)
    }

    public init(configuration: PostgresClient.Configuration, schema: String = "public", logger: Logger) {
        var configuration = configuration
        if schema != "public" { configuration.options.additionalStartupParameters.append(("search_path", schema)) }
        self.client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.logger = logger
        self.schema = schema
    }

    /// Runs the connection pool until cancelled (graceful shutdown ends it).
    public func run() async throws {
        await cancelWhenGracefulShutdown { await self.runPool() }
    }

    /// Marks the pool running and runs it, with no suspension in between: `migrate` leases a
    /// connection only once the pool's run loop has begun (PostgresNIO warns otherwise).
    private func runPool() async {
        running.withLock { $0 = true }
        await client.run()
    }

    /// Whether `run` (or `withRunning`) has started the pool: `migrate` waits for it, as a server
    /// prepares its stores while its services start.
    private let running = Mutex(false)

    /// Creates the schema if needed and applies the missing migrations, once, whichever of several
    /// servers gets there first. Refuses a database written by a newer build.
    public func migrate() async throws {
        while !running.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(5)) }
        try await transaction { connection in
            try await connection.execute("SELECT pg_advisory_xact_lock(\(PostgresSchema.migrationLock))")
            try await connection.execute(PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \"\(self.schema)\""))
            try await connection.execute(PostgresQuery(unsafeSQL: "SET LOCAL search_path TO \"\(self.schema)\""))
            try await connection.execute(PostgresQuery(unsafeSQL: PostgresSchema.bookkeeping))
            let current = try await connection.one("SELECT coalesce(max(version), 0) FROM schema_version", as: Int.self) ?? 0
            let latest = PostgresSchema.migrations.last?.version ?? 0
            guard current <= latest else {
                throw PostgresMetadataStoreError.unsupportedSchemaVersion(found: current, supported: latest)
            }
            for migration in PostgresSchema.migrations where migration.version > current {
                for statement in migration.statements { try await connection.execute(PostgresQuery(unsafeSQL: statement)) }
                try await connection.execute(
                    "INSERT INTO schema_version (version, applied_at) VALUES (\(migration.version), \(Millis(Date())))")
            }
        }
    }

    /// Drops the store's schema and everything in it (tests give each store a schema of its own).
    package func dropSchema() async throws {
        precondition(schema != "public", "refusing to drop the public schema")
        try await client.query(PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \"\(schema)\" CASCADE"), logger: logger)
    }

    /// Runs `body` and the store's pool around it: for tools and tests that use a store outside a
    /// service group.
    public func withRunning<T: Sendable>(_ body: @Sendable (PostgresMetadataStore) async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await self.runPool() }
            defer { group.cancelAll() }
            return try await body(self)
        }
    }

    // MARK: Transactions

    private enum Isolation: String {
        case readCommitted = "READ COMMITTED"
        case repeatableRead = "REPEATABLE READ"
    }

    /// As in the SQLite store, records a client was promised (users, entries, grants, deletions,
    /// collection, a consumed login nonce) are on disk when the call returns; protocol state that a
    /// crash may lose harmlessly (login nonces, bearer sessions, upload sessions, their challenges
    /// and received-chunk marks) commits without waiting for the log's flush. Either is atomic and
    /// at once visible to every server; a crash can only roll the second kind back a little (a
    /// client logs in again or resends a chunk).
    private enum Durability {
        case durable
        case ephemeral
    }

    /// Runs `body` in one transaction, committed if it returns, rolled back if it throws; run again
    /// (up to 5 times) when PostgreSQL aborts it for a deadlock or a serialization failure.
    private func transaction<T: Sendable>(_ isolation: Isolation = .readCommitted, _ durability: Durability = .durable,
                                          _ body: (PostgresConnection) async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await client.withConnection { connection in
                    try await connection.execute(PostgresQuery(unsafeSQL: "BEGIN ISOLATION LEVEL \(isolation.rawValue)"))
                    do {
                        if durability == .ephemeral { try await connection.execute("SET LOCAL synchronous_commit TO OFF") }
                        let result = try await body(connection)
                        try await connection.execute("COMMIT")
                        return result
                    } catch {
                        try? await connection.execute("ROLLBACK")
                        throw error
                    }
                }
            } catch let error as PSQLError where attempt < 5 && error.isTransient {
                try await Task.sleep(for: .milliseconds(5 * attempt))
            }
        }
    }

    /// Several reads of one snapshot.
    private func read<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await transaction(.repeatableRead, .durable, body)
    }

    /// One read-only statement, which is a snapshot by itself: no BEGIN and COMMIT round trips
    /// (a bearer token's lookup precedes every authenticated request).
    private func statement<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await client.withConnection { connection in try await body(connection) }
    }

    // MARK: Users and authentication

    public func createUser(_ user: UserRecord) async throws {
        try await transaction { connection in
            do {
                try await connection.execute("""
                    INSERT INTO users (name, signing_key, agreement_key, authority_parameters, created_at)
                    VALUES (\(user.name), \(Bytes(user.signingKey)), \(Bytes(user.agreementKey)),
                            \(Bytes(user.authorityParameters)), \(Millis(user.createdAt)))
                    """)
            } catch let error as PSQLError where error.isUniqueViolation {
                throw MetadataStoreError.conflict(.user(user.name))
            }
        }
    }

    public func user(named name: String) async throws -> UserRecord? {
        try await statement { connection in
            try await connection.rows("""
                SELECT name, signing_key, agreement_key, authority_parameters, created_at FROM users WHERE name = \(name)
                """).first.map { row in
                let (name, signing, agreement, parameters, created) = try row.decode((String, ByteBuffer, ByteBuffer, ByteBuffer, Int64).self)
                return UserRecord(name: name, signingKey: Array(buffer: signing), agreementKey: Array(buffer: agreement),
                                  authorityParameters: Array(buffer: parameters), createdAt: Millis.date(created))
            }
        }
    }

    public func storeLoginChallenge(_ nonce: [UInt8], user: String, expiresAt: Date) async throws {
        try await transaction(.readCommitted, .ephemeral) { connection in
            do {
                try await connection.execute("DELETE FROM login_challenges WHERE expires_at <= \(Millis(Date()))")
                try await connection.execute("""
                    INSERT INTO login_challenges (nonce, "user", expires_at) VALUES (\(Bytes(nonce)), \(user), \(Millis(expiresAt)))
                    """)
            } catch let error as PSQLError where error.isUniqueViolation {
                throw MetadataStoreError.conflict(.loginChallenge)
            }
        }
    }

    public func consumeLoginChallenge(_ nonce: [UInt8], now: Date) async throws -> String? {
        try await transaction { connection in
            guard let row = try await connection.rows(
                "DELETE FROM login_challenges WHERE nonce = \(Bytes(nonce)) RETURNING \"user\", expires_at").first else { return nil }
            let (user, expires) = try row.decode((String, Int64).self)
            return Millis.date(expires) > now ? user : nil
        }
    }

    public func storeSession(tokenHash: [UInt8], user: String, expiresAt: Date) async throws {
        try await transaction(.readCommitted, .ephemeral) { connection in
            do {
                try await connection.execute("DELETE FROM sessions WHERE expires_at <= \(Millis(Date()))")
                try await connection.execute("""
                    INSERT INTO sessions (token_hash, "user", expires_at) VALUES (\(Bytes(tokenHash)), \(user), \(Millis(expiresAt)))
                    """)
            } catch let error as PSQLError where error.isUniqueViolation {
                throw MetadataStoreError.conflict(.session)
            } catch let error as PSQLError where error.isForeignKeyViolation {
                throw MetadataStoreError.notFound(.user(user))
            }
        }
    }

    public func sessionUser(tokenHash: [UInt8], now: Date) async throws -> String? {
        try await statement { connection in
            try await connection.one("""
                SELECT "user" FROM sessions WHERE token_hash = \(Bytes(tokenHash)) AND expires_at > \(Millis(now))
                """, as: String.self)
        }
    }

    public func serverSecret() async throws -> [UInt8] {
        let fresh = ServerSecret.random()
        return try await transaction { connection in
            try await connection.execute("INSERT INTO server_secret (id, secret) VALUES (1, \(Bytes(fresh))) ON CONFLICT (id) DO NOTHING")
            guard let secret = try await connection.one("SELECT secret FROM server_secret WHERE id = 1", as: ByteBuffer.self) else {
                throw PostgresMetadataStoreError.malformedValue(column: "secret")
            }
            return Array(buffer: secret)
        }
    }

    // MARK: Chunks and files

    public func storedChunks(_ tags: [Tag]) async throws -> [Tag: Int] {
        guard !tags.isEmpty else { return [:] }
        return try await statement { connection in try await connection.storedChunks(tags) }
    }

    public func file(_ tag: Tag) async throws -> FileRecord? {
        try await read { connection in
            guard let manifest = try await connection.one("SELECT manifest FROM files WHERE tag = \(Bytes(tag))", as: ByteBuffer.self) else {
                return nil
            }
            return FileRecord(tag: tag, sealedManifest: Array(buffer: manifest), chunks: try await connection.fileChunks([tag])[tag] ?? [])
        }
    }

    public func uploadLookup(files: [Tag], chunks: [Tag], user: String) async throws -> UploadLookup {
        try await read { connection in
            var stored: [Tag: Int] = [:], uploads: [Tag: Int] = [:]
            if !chunks.isEmpty {
                for row in try await connection.rows("SELECT tag, size, uploads FROM chunks WHERE NOT lost AND tag = ANY(\(Bytes.array(chunks)))") {
                    let (tag, size, count) = try row.decode((ByteBuffer, Int, Int).self)
                    stored[try Bytes.tag(tag)] = size
                    uploads[try Bytes.tag(tag)] = count
                }
            }
            var held = Set<Tag>()
            if !stored.isEmpty {
                for row in try await connection.rows("""
                    SELECT DISTINCT file_chunks.chunk_tag FROM file_chunks JOIN entries ON entries.file_tag = file_chunks.file_tag
                    WHERE entries.owner = \(user) AND file_chunks.chunk_tag = ANY(\(Bytes.array(Array(stored.keys))))
                    """) {
                    held.insert(try row.tag())
                }
            }
            return UploadLookup(files: files.isEmpty ? [:] : try await connection.fileChunks(files), chunks: stored, held: held,
                                uploads: uploads)
        }
    }

    // MARK: Upload sessions

    public func createUploadSession(_ session: UploadSessionRecord, maximumLive: Int, now: Date) async throws {
        try await transaction(.readCommitted, .ephemeral) { connection in
            try await connection.execute("SELECT pg_advisory_xact_lock_shared(\(Self.collectionLock))")
            // The user's row lock serialises this user's session creations across nodes, so the
            // count below stays exact.
            guard try await connection.one("SELECT 1 FROM users WHERE name = \(session.user) FOR UPDATE", as: Int.self) != nil else {
                throw MetadataStoreError.notFound(.user(session.user))
            }
            try await connection.execute("""
                DELETE FROM upload_sessions WHERE "user" = \(session.user) AND expires_at <= \(Millis(now))
                """)
            let live = try await connection.one("SELECT count(*) FROM upload_sessions WHERE \"user\" = \(session.user)", as: Int.self) ?? 0
            guard live < maximumLive else { throw MetadataStoreError.tooManyUploadSessions(user: session.user, live: live) }
            do {
                try await connection.execute("""
                    INSERT INTO upload_sessions (id, "user", challenge, ownership_proven, expires_at)
                    VALUES (\(session.id), \(session.user), \(session.challenge.map { Bytes(ChallengeBytes.encode($0)) }),
                            \(session.ownershipProven), \(Millis(session.expiresAt)))
                    """)
            } catch let error as PSQLError where error.isUniqueViolation {
                throw MetadataStoreError.conflict(.uploadSession(session.id))
            }
            try await connection.execute("""
                INSERT INTO upload_session_files (session, position, file_tag, chunks)
                SELECT \(session.id), ordinality - 1, file_tag, chunks
                FROM unnest(\(Bytes.array(session.files.map(\.fileTag))), \(session.files.map { Bytes(ChunkListCoding.encode($0.chunks)).buffer }))
                     WITH ORDINALITY AS announced(file_tag, chunks, ordinality)
                """)
            let tags = Set(session.files.lazy.flatMap(\.chunks).map(\.tag)).union(session.missing).union(session.received).sorted()
            try await connection.execute("""
                INSERT INTO upload_session_tags (session, tag, missing, received)
                SELECT \(session.id), tag, missing, received
                FROM unnest(\(Bytes.array(tags)), \(tags.map(session.missing.contains)), \(tags.map(session.received.contains)))
                     AS announced(tag, missing, received)
                """)
        }
    }

    public func uploadSession(id: String) async throws -> UploadSessionRecord? {
        try await read { connection in
            guard let row = try await connection.rows("""
                SELECT "user", challenge, ownership_proven, expires_at FROM upload_sessions WHERE id = \(id)
                """).first else { return nil }
            let (user, challenge, proven, expires) = try row.decode((String, ByteBuffer?, Bool, Int64).self)
            var missing = Set<Tag>(), received = Set<Tag>()
            for tagRow in try await connection.rows("SELECT tag, missing, received FROM upload_session_tags WHERE session = \(id)") {
                let (tag, isMissing, isReceived) = try tagRow.decode((ByteBuffer, Bool, Bool).self)
                let decoded = try Bytes.tag(tag)
                if isMissing { missing.insert(decoded) }
                if isReceived { received.insert(decoded) }
            }
            return UploadSessionRecord(
                id: id, user: user, files: try await connection.announcedFiles(session: id), missing: missing, received: received,
                challenge: try challenge.map(Self.challenge), ownershipProven: proven, expiresAt: Millis.date(expires))
        }
    }

    public func uploadSessionChunks(id: String, tags: [Tag]) async throws -> UploadSessionChunks? {
        try await read { connection in
            guard let row = try await connection.rows("SELECT \"user\", expires_at FROM upload_sessions WHERE id = \(id)").first else {
                return nil
            }
            let (user, expires) = try row.decode((String, Int64).self)
            let wanted = Set(tags)
            var sizes: [Tag: Int] = [:]
            for file in try await connection.announcedFiles(session: id) {
                for chunk in file.chunks where wanted.contains(chunk.tag) { sizes[chunk.tag] = chunk.size }
            }
            var states: [Tag: UploadSessionChunks.State] = [:]
            if !sizes.isEmpty {
                for state in try await connection.rows("""
                    SELECT tag, missing, received FROM upload_session_tags
                    WHERE session = \(id) AND tag = ANY(\(Bytes.array(Array(sizes.keys))))
                    """) {
                    let (tag, missing, received) = try state.decode((ByteBuffer, Bool, Bool).self)
                    let decoded = try Bytes.tag(tag)
                    states[decoded] = .init(size: sizes[decoded]!, missing: missing, received: received)
                }
            }
            return UploadSessionChunks(user: user, expiresAt: Millis.date(expires), chunks: states)
        }
    }

    public func recordReceived(_ chunks: [ChunkReference], session id: String?) async throws {
        guard !chunks.isEmpty else { return }
        // Sorted, so that two nodes recording overlapping chunks lock their rows in one order.
        var sizes: [Tag: Int] = [:]
        for chunk in chunks { sizes[chunk.tag] = chunk.size }
        let tags = sizes.keys.sorted()
        let sessionExists = try await transaction(.readCommitted, .ephemeral) { connection in
            try await connection.execute("SELECT pg_advisory_xact_lock_shared(\(Self.collectionLock))")
            if let doomed = try await connection.rows("SELECT tag FROM doomed_chunks WHERE tag = ANY(\(Bytes.array(tags))) LIMIT 1").first {
                throw MetadataStoreError.collecting(try doomed.tag())
            }
            try await connection.execute("""
                INSERT INTO chunks (tag, size, refs, unreferenced_since)
                SELECT tag, size, 0, \(Millis(Date())) FROM unnest(\(Bytes.array(tags)), \(tags.map { sizes[$0]! })) AS received(tag, size)
                ON CONFLICT (tag) DO UPDATE SET lost = false, uploads = chunks.uploads + 1
                """)
            guard let id else { return true }
            guard try await connection.one("SELECT 1 FROM upload_sessions WHERE id = \(id) FOR SHARE", as: Int.self) != nil else {
                return false
            }
            try await connection.execute("""
                INSERT INTO upload_session_tags (session, tag, missing, received)
                SELECT \(id), tag, false, true FROM unnest(\(Bytes.array(tags))) AS received(tag)
                ON CONFLICT (session, tag) DO UPDATE SET received = true
                """)
            return true
        }
        if !sessionExists, let id { throw MetadataStoreError.notFound(.uploadSession(id)) }
    }

    public func takeChallenge(session id: String) async throws -> TakenChallenge? {
        try await transaction(.readCommitted, .ephemeral) { connection in
            guard let row = try await connection.rows("""
                SELECT "user", challenge FROM upload_sessions WHERE id = \(id) FOR UPDATE
                """).first else { throw MetadataStoreError.notFound(.uploadSession(id)) }
            let (user, stored) = try row.decode((String, ByteBuffer?).self)
            guard let stored else { return nil }
            try await connection.execute("UPDATE upload_sessions SET challenge = NULL WHERE id = \(id)")
            return TakenChallenge(user: user, challenge: try Self.challenge(stored),
                                  chunks: try await connection.announcedFiles(session: id).flatMap(\.chunks))
        }
    }

    public func setOwnershipProven(session id: String) async throws {
        try await transaction(.readCommitted, .ephemeral) { connection in
            guard try await connection.one("UPDATE upload_sessions SET ownership_proven = true WHERE id = \(id) RETURNING 1",
                                           as: Int.self) != nil else {
                throw MetadataStoreError.notFound(.uploadSession(id))
            }
        }
    }

    public func deleteUploadSession(id: String) async throws {
        try await transaction(.readCommitted, .ephemeral) { connection in try await connection.execute("DELETE FROM upload_sessions WHERE id = \(id)") }
    }

    private static func challenge(_ buffer: ByteBuffer) throws -> OwnershipChallenge {
        guard let challenge = ChallengeBytes.decode(Array(buffer: buffer)) else {
            throw PostgresMetadataStoreError.malformedValue(column: "challenge")
        }
        return challenge
    }

    // MARK: Entries

    public func commit(_ entries: [(entry: EntryRecord, file: FileRecord)], sessionID: String, quota: Int?,
                       replacing: [String: Tag], now: Date) async throws {
        if let mismatch = entries.first(where: { $0.entry.fileTag != $0.file.tag }) {
            throw MetadataStoreError.notFound(.file(mismatch.entry.fileTag))
        }
        let owners = Set(entries.map(\.entry.owner))
        try await transaction { connection in
            try await connection.execute("SELECT pg_advisory_xact_lock_shared(\(Self.collectionLock))")
            let announced = try await connection.announcedFiles(session: sessionID).map(\.fileTag)
            guard owners.count <= 1, announced == entries.map(\.file.tag),
                  try await connection.one("""
                      DELETE FROM upload_sessions WHERE id = \(sessionID) AND "user" = \(owners.first ?? "") RETURNING 1
                      """, as: Int.self) != nil else {
                throw MetadataStoreError.notFound(.uploadSession(sessionID))
            }
            let owner = owners.first ?? ""
            for (name, fileTag) in replacing.sorted(by: { $0.key < $1.key }) {
                switch try await Self.removeEntry(owner: owner, name: name, naming: fileTag, now: now, on: connection) {
                case .removed: break
                case .absent: throw MetadataStoreError.notFound(.entry(owner: owner, name: name))
                case .namesAnotherFile: throw MetadataStoreError.conflict(.entry(owner: owner, name: name))
                }
            }
            for (entry, file) in entries { try await Self.commit(entry, file: file, on: connection) }
            if let quota, let owner = owners.first {
                let used = try await connection.one("""
                    SELECT least(coalesce(sum(charged), 0), 9000000000000000000)::bigint FROM entries WHERE owner = \(owner)
                    """, as: Int.self) ?? 0
                guard used <= quota else { throw MetadataStoreError.quotaExceeded(used: used, quota: quota) }
            }
        }
    }

    private static func commit(_ entry: EntryRecord, file: FileRecord, on connection: PostgresConnection) async throws {
        // Files are shared: only the first commit of a tag stores it and references its chunks. A
        // concurrent commit of the same new file on another node waits here for this one's outcome.
        // A file that is already stored may be losing its last entry on another connection; the
        // key-share lock holds it until this entry is in (the deletion then sees the entry), and a
        // file deleted meanwhile is stored anew.
        var isNew = false
        while true {
            isNew = try await connection.one("""
                INSERT INTO files (tag, manifest) VALUES (\(Bytes(file.tag)), \(Bytes(file.sealedManifest)))
                ON CONFLICT (tag) DO NOTHING RETURNING 1
                """, as: Int.self) != nil
            if isNew { break }
            if try await connection.one("SELECT 1 FROM files WHERE tag = \(Bytes(file.tag)) FOR KEY SHARE", as: Int.self) != nil {
                break
            }
        }
        if isNew {
            let distinct = Array(Set(file.chunks.map(\.tag))).sorted()
            // Locked in tag order (no deadlock between commits), and each must exist.
            let locked = try await connection.rows("""
                SELECT tag FROM chunks WHERE tag = ANY(\(Bytes.array(distinct))) ORDER BY tag FOR UPDATE
                """).count
            if locked != distinct.count {
                let stored = try await connection.storedChunks(distinct, includingLost: true)
                throw MetadataStoreError.notFound(.chunk(distinct.first { stored[$0] == nil }!))
            }
            try await connection.execute("""
                INSERT INTO file_chunks (file_tag, position, chunk_tag)
                SELECT \(Bytes(file.tag)), ordinality - 1, chunk_tag
                FROM unnest(\(Bytes.array(file.chunks.map(\.tag)))) WITH ORDINALITY AS used(chunk_tag, ordinality)
                """)
            // One reference per position, so a chunk repeated inside a file counts once per use.
            try await connection.execute("""
                UPDATE chunks SET refs = refs + uses.count, unreferenced_since = NULL
                FROM (SELECT chunk_tag, count(*) AS count FROM file_chunks WHERE file_tag = \(Bytes(file.tag)) GROUP BY chunk_tag) AS uses
                WHERE chunks.tag = uses.chunk_tag
                """)
        }
        do {
            try await connection.execute("""
                INSERT INTO entries (owner, name, file_tag, attributes, abe_key, owner_key, media_type, size, created_at, charged, owner_seal)
                VALUES (\(entry.owner), \(entry.name), \(Bytes(entry.fileTag)), \(entry.attributes), \(Bytes(entry.attributeWrappedKey)),
                        \(Bytes(entry.ownerWrappedKey)), \(entry.mediaType), \(entry.size), \(Millis(entry.createdAt)), \(file.storedSize),
                        \(Bytes(entry.ownerSeal)))
                """)
        } catch let error as PSQLError where error.isUniqueViolation {
            throw MetadataStoreError.conflict(.entry(owner: entry.owner, name: entry.name))
        } catch let error as PSQLError where error.isForeignKeyViolation {
            throw error.serverInfo?[.constraintName] == "entries_file_tag_fkey"
                ? MetadataStoreError.notFound(.file(entry.fileTag)) : MetadataStoreError.notFound(.user(entry.owner))
        }
    }

    private static let entryColumns = "owner, name, file_tag, attributes, abe_key, owner_key, media_type, size, created_at, owner_seal"

    private static func entry(_ row: PostgresRow) throws -> EntryRecord {
        let (owner, name, file, attributes, abe, ownerKey, mediaType, size, created, seal) =
            try row.decode((String, String, ByteBuffer, [String], ByteBuffer, ByteBuffer, String, Int, Int64, ByteBuffer).self)
        return EntryRecord(owner: owner, name: name, fileTag: try Bytes.tag(file), attributes: attributes,
                           attributeWrappedKey: Array(buffer: abe), ownerWrappedKey: Array(buffer: ownerKey),
                           mediaType: mediaType, size: size, createdAt: Millis.date(created), ownerSeal: Array(buffer: seal))
    }

    public func entry(owner: String, name: String) async throws -> EntryRecord? {
        try await statement { connection in
            try await connection.rows(PostgresQuery(unsafeSQL: "SELECT \(Self.entryColumns) FROM entries WHERE owner = $1 AND name = $2",
                                                    binds: Self.binds(owner, name)))
                .first.map(Self.entry)
        }
    }

    /// Sorted by name, bytewise.
    public func entries(owner: String, prefix: String, after: String?, limit: Int) async throws -> [EntryRecord] {
        var binds = Self.binds(owner, prefix, after ?? "")
        binds.append(Int64(min(limit, Int(Int64.max))))
        return try await statement { connection in
            try await connection.rows(PostgresQuery(unsafeSQL: """
                SELECT \(Self.entryColumns) FROM entries
                WHERE owner = $1 AND name >= $2 AND name > $3 AND starts_with(name, $2) ORDER BY name LIMIT $4
                """, binds: binds))
                .map(Self.entry)
        }
    }

    private static func binds(_ values: String...) -> PostgresBindings {
        var bindings = PostgresBindings()
        for value in values { bindings.append(value) }
        return bindings
    }

    public func updateEntryKeys(owner: String, _ updates: [EntryKeyUpdate]) async throws {
        try await transaction { connection in
            for update in updates {
                guard try await connection.one("""
                    UPDATE entries SET abe_key = \(Bytes(update.attributeWrappedKey)), owner_seal = \(Bytes(update.ownerSeal))
                    WHERE owner = \(owner) AND name = \(update.name) AND owner_seal = \(Bytes(update.previousSeal)) RETURNING 1
                    """, as: Int.self) == nil else { continue }
                let exists = try await connection.one("SELECT 1 FROM entries WHERE owner = \(owner) AND name = \(update.name)", as: Int.self) != nil
                throw exists ? MetadataStoreError.conflict(.entry(owner: owner, name: update.name))
                             : MetadataStoreError.notFound(.entry(owner: owner, name: update.name))
            }
        }
    }

    public func deleteEntry(owner: String, name: String, now: Date) async throws -> Bool {
        try await transaction { connection in
            try await Self.removeEntry(owner: owner, name: name, naming: nil, now: now, on: connection) == .removed
        }
    }

    /// Removes the entry and its reference, if it names `fileTag` (any file when nil); a file left
    /// without entries goes with its chunk references, and a chunk reaching zero starts its grace
    /// period at `now`.
    private static func removeEntry(owner: String, name: String, naming fileTag: Tag?, now: Date,
                                    on connection: PostgresConnection) async throws -> EntryRemoval {
        let removed = if let fileTag {
            try await connection.one("""
                DELETE FROM entries WHERE owner = \(owner) AND name = \(name) AND file_tag = \(Bytes(fileTag)) RETURNING file_tag
                """, as: ByteBuffer.self)
        } else {
            try await connection.one("DELETE FROM entries WHERE owner = \(owner) AND name = \(name) RETURNING file_tag", as: ByteBuffer.self)
        }
        guard let file = removed else {
            guard fileTag != nil,
                  try await connection.one("SELECT 1 FROM entries WHERE owner = \(owner) AND name = \(name)", as: Int.self) != nil else {
                return .absent
            }
            return .namesAnotherFile
        }
        // The file row lock makes the last two deletions of one file's entries take turns.
        guard try await connection.one("SELECT 1 FROM files WHERE tag = \(file) FOR UPDATE", as: Int.self) != nil,
              try await connection.one("SELECT 1 FROM entries WHERE file_tag = \(file) LIMIT 1", as: Int.self) == nil else {
            return .removed
        }
        // The last entry is gone: drop the file's chunk references; a chunk reaching zero starts
        // its grace period now (right-hand sides see the old refs).
        try await connection.execute("""
            UPDATE chunks SET refs = refs - uses.count,
                unreferenced_since = CASE WHEN refs = uses.count THEN \(Millis(now)) ELSE NULL END
            FROM (SELECT chunk_tag, count(*) AS count FROM file_chunks WHERE file_tag = \(file) GROUP BY chunk_tag) AS uses
            WHERE chunks.tag = uses.chunk_tag
            """)
        try await connection.execute("DELETE FROM file_chunks WHERE file_tag = \(file)")
        try await connection.execute("DELETE FROM files WHERE tag = \(file)")
        return .removed
    }

    /// See the type's comment for how a pass excludes concurrent recording on every node.
    public func collectGarbage(unreferencedBefore cutoff: Date, now: Date) async throws -> [Tag] {
        try await transaction { connection in
            try await connection.execute("SELECT pg_advisory_xact_lock(\(Self.collectionLock))")
            try await connection.execute("""
                WITH collected AS (
                    DELETE FROM chunks
                    WHERE refs = 0 AND unreferenced_since < \(Millis(cutoff))
                      AND NOT EXISTS (
                          SELECT 1 FROM upload_session_tags JOIN upload_sessions ON upload_sessions.id = upload_session_tags.session
                          WHERE upload_session_tags.tag = chunks.tag AND upload_sessions.expires_at > \(Millis(now)))
                    RETURNING tag)
                INSERT INTO doomed_chunks (tag, since) SELECT tag, \(Millis(now)) FROM collected ON CONFLICT (tag) DO NOTHING
                """)
            try await connection.execute("DELETE FROM upload_sessions WHERE expires_at <= \(Millis(now))")
            try await connection.execute("DELETE FROM login_challenges WHERE expires_at <= \(Millis(now))")
            try await connection.execute("DELETE FROM sessions WHERE expires_at <= \(Millis(now))")
            return try await connection.rows("SELECT tag FROM doomed_chunks ORDER BY tag").map { try $0.tag() }
        }
    }

    public func forgetCollected(_ tags: [Tag]) async throws {
        guard !tags.isEmpty else { return }
        try await transaction { connection in
            try await connection.execute("DELETE FROM doomed_chunks WHERE tag = ANY(\(Bytes.array(tags)))")
        }
    }

    public func markLost(_ tags: [Tag]) async throws {
        guard !tags.isEmpty else { return }
        try await transaction { connection in
            try await connection.execute("UPDATE chunks SET lost = true WHERE tag = ANY(\(Bytes.array(tags)))")
        }
    }

    public func lostChunks() async throws -> [Tag] {
        try await statement { connection in
            try await connection.rows("SELECT tag FROM chunks WHERE lost ORDER BY tag").map { try $0.tag() }
        }
    }

    public func allChunks() async throws -> [ChunkReference] {
        try await statement { connection in
            try await connection.rows("SELECT tag, size FROM chunks ORDER BY tag").map { row in
                let (tag, size) = try row.decode((ByteBuffer, Int).self)
                return ChunkReference(tag: try Bytes.tag(tag), size: size)
            }
        }
    }

    public func referenceAudit() async throws -> ReferenceAudit {
        try await read { connection in
            ReferenceAudit(
                entries: try await connection.one("SELECT count(*) FROM entries", as: Int.self) ?? 0,
                entriesWithoutFile: try await connection.rows("""
                    SELECT owner, name FROM entries WHERE NOT EXISTS (SELECT 1 FROM files WHERE files.tag = entries.file_tag)
                    ORDER BY owner, name
                    """).map { row in
                    let (owner, name) = try row.decode((String, String).self)
                    return "\(owner)/\(name)"
                },
                unrecordedChunks: try await connection.rows("""
                    SELECT DISTINCT chunk_tag FROM file_chunks
                    WHERE NOT EXISTS (SELECT 1 FROM chunks WHERE chunks.tag = file_chunks.chunk_tag) ORDER BY chunk_tag
                    """).map { try $0.tag() },
                doomedChunks: try await connection.rows("SELECT tag FROM doomed_chunks ORDER BY tag").map { try $0.tag() })
        }
    }

    // MARK: Grants

    public func putGrant(_ grant: GrantRecord) async throws {
        try await transaction { connection in
            for name in [grant.owner, grant.grantee] {
                guard try await connection.one("SELECT 1 FROM users WHERE name = \(name)", as: Int.self) != nil else {
                    throw MetadataStoreError.notFound(.user(name))
                }
            }
            try await connection.execute("""
                INSERT INTO grants (owner, grantee, policy, sealed_key, created_at)
                VALUES (\(grant.owner), \(grant.grantee), \(grant.policy), \(Bytes(grant.sealedKey)), \(Millis(grant.createdAt)))
                ON CONFLICT (owner, grantee) DO UPDATE
                SET policy = excluded.policy, sealed_key = excluded.sealed_key, created_at = excluded.created_at
                """)
        }
    }

    private static func grant(_ row: PostgresRow) throws -> GrantRecord {
        let (owner, grantee, policy, key, created) = try row.decode((String, String, String, ByteBuffer, Int64).self)
        return GrantRecord(owner: owner, grantee: grantee, policy: policy, sealedKey: Array(buffer: key), createdAt: Millis.date(created))
    }

    public func grant(owner: String, grantee: String) async throws -> GrantRecord? {
        try await statement { connection in
            try await connection.rows("""
                SELECT owner, grantee, policy, sealed_key, created_at FROM grants WHERE owner = \(owner) AND grantee = \(grantee)
                """).first.map(Self.grant)
        }
    }

    /// Sorted by owner, bytewise.
    public func grants(grantee: String) async throws -> [GrantRecord] {
        try await statement { connection in
            try await connection.rows("""
                SELECT owner, grantee, policy, sealed_key, created_at FROM grants WHERE grantee = \(grantee) ORDER BY owner
                """).map(Self.grant)
        }
    }

    /// Sorted by grantee, bytewise.
    public func grants(owner: String) async throws -> [GrantRecord] {
        try await statement { connection in
            try await connection.rows("""
                SELECT owner, grantee, policy, sealed_key, created_at FROM grants WHERE owner = \(owner) ORDER BY grantee
                """).map(Self.grant)
        }
    }

    public func revokeGrant(owner: String, grantee: String) async throws -> Bool {
        try await transaction { connection in
            try await connection.one("DELETE FROM grants WHERE owner = \(owner) AND grantee = \(grantee) RETURNING 1", as: Int.self) != nil
        }
    }

    // MARK: Statistics

    public func userUsage() async throws -> [UserUsage] {
        try await read { connection in
            try await connection.rows("""
                SELECT users.name, count(entries.name)::bigint, coalesce(sum(entries.charged), 0)::bigint
                FROM users LEFT JOIN entries ON entries.owner = users.name GROUP BY users.name ORDER BY users.name
                """).map {
                let (name, entries, charged) = try $0.decode((String, Int64, Int64).self)
                return UserUsage(user: name, entries: Int(entries), chargedBytes: Int(charged))
            }
        }
    }

    public func statistics() async throws -> StoreStatistics {
        try await read { connection in
            let row = try await connection.rows("""
                SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM entries), (SELECT count(*) FROM files),
                       (SELECT count(*) FROM chunks),
                       least((SELECT coalesce(sum(size), 0) FROM entries), 9000000000000000000)::bigint,
                       least((SELECT coalesce(sum(size), 0) FROM chunks) + (SELECT coalesce(sum(length(manifest)), 0) FROM files),
                             9000000000000000000)::bigint
                """)[0]
            let (users, entries, files, chunks, logical, stored) = try row.decode((Int, Int, Int, Int, Int, Int).self)
            return StoreStatistics(users: users, entries: entries, files: files, chunks: chunks,
                                   logicalBytes: logical, storedBytes: stored)
        }
    }
}

/// Failures particular to the PostgreSQL store (the protocol's own outcomes are `MetadataStoreError`).
public enum PostgresMetadataStoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The database was written by a newer TwinStore.
    case unsupportedSchemaVersion(found: Int, supported: Int)
    /// A stored value did not decode: the database was edited by hand or is damaged.
    case malformedValue(column: String)
    /// The URL is not `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?schema=NAME]`.
    case invalidURL(String)

    public var description: String {
        switch self {
        case .unsupportedSchemaVersion(let found, let supported):
            "the database has schema version \(found); this build supports up to \(supported)"
        case .malformedValue(let column): "a stored \(column) does not decode"
        case .invalidURL(let reason): "invalid PostgreSQL URL: \(reason)"
        }
    }
}

// MARK: Values

/// A point in time as Unix milliseconds, the precision both SQL stores keep.
struct Millis: PostgresEncodable {
    let value: Int64

    init(_ date: Date) { value = Int64((date.timeIntervalSince1970 * 1000).rounded()) }

    static func date(_ milliseconds: Int64) -> Date { Date(timeIntervalSince1970: Double(milliseconds) / 1000) }

    static var psqlType: PostgresDataType { .int8 }
    static var psqlFormat: PostgresFormat { .binary }

    func encode<JSONEncoder: PostgresJSONEncoder>(into byteBuffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        byteBuffer.writeInteger(value)
    }
}

/// Bytes bound as `bytea` (a `[UInt8]` would bind as an array of integers).
struct Bytes: PostgresEncodable {
    let buffer: ByteBuffer

    init(_ bytes: some Collection<UInt8>) { buffer = ByteBuffer(bytes: bytes) }
    init(_ tag: Tag) { buffer = tag.withUnsafeBytes { ByteBuffer(bytes: $0) } }

    static var psqlType: PostgresDataType { .bytea }
    static var psqlFormat: PostgresFormat { .binary }

    func encode<JSONEncoder: PostgresJSONEncoder>(into byteBuffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        byteBuffer.writeImmutableBuffer(buffer)
    }

    /// Tags as `bytea[]`.
    static func array(_ tags: [Tag]) -> [ByteBuffer] { tags.map { Bytes($0).buffer } }

    static func tag(_ buffer: ByteBuffer) throws -> Tag {
        guard let tag = Tag(bytes: Array(buffer: buffer)) else { throw PostgresMetadataStoreError.malformedValue(column: "tag") }
        return tag
    }
}

extension PostgresRow {
    /// The first column as a tag.
    func tag() throws -> Tag { try Bytes.tag(try decode(ByteBuffer.self)) }
}

extension PSQLError {
    private var sqlState: String? { serverInfo?[.sqlState] }
    var isUniqueViolation: Bool { sqlState == "23505" }
    var isForeignKeyViolation: Bool { sqlState == "23503" }
    /// A deadlock or serialization failure: the transaction may simply be run again.
    var isTransient: Bool { sqlState == "40001" || sqlState == "40P01" }
}

extension PostgresConnection {
    private static let logger = Logger(label: "twin.postgres")

    func execute(_ query: PostgresQuery) async throws {
        _ = try await self.query(query, logger: Self.logger).collect()
    }

    func rows(_ query: PostgresQuery) async throws -> [PostgresRow] {
        try await self.query(query, logger: Self.logger).collect()
    }

    /// The first column of the first row, if any.
    func one<T: PostgresDecodable>(_ query: PostgresQuery, as type: T.Type) async throws -> T? {
        try await rows(query).first.map { try $0.decode(T.self) }
    }

    func storedChunks(_ tags: [Tag], includingLost: Bool = false) async throws -> [Tag: Int] {
        var stored: [Tag: Int] = [:]
        for row in try await rows("""
            SELECT tag, size FROM chunks WHERE (\(includingLost) OR NOT lost) AND tag = ANY(\(Bytes.array(tags)))
            """) {
            let (tag, size) = try row.decode((ByteBuffer, Int).self)
            stored[try Bytes.tag(tag)] = size
        }
        return stored
    }

    /// The chunk lists of the stored files among `tags`, in order.
    func fileChunks(_ tags: [Tag]) async throws -> [Tag: [ChunkReference]] {
        var lists: [Tag: [ChunkReference]] = [:]
        for row in try await rows("""
            SELECT file_chunks.file_tag, file_chunks.chunk_tag, chunks.size
            FROM file_chunks JOIN chunks ON chunks.tag = file_chunks.chunk_tag
            WHERE file_chunks.file_tag = ANY(\(Bytes.array(tags))) ORDER BY file_chunks.file_tag, file_chunks.position
            """) {
            let (file, chunk, size) = try row.decode((ByteBuffer, ByteBuffer, Int).self)
            lists[try Bytes.tag(file), default: []].append(ChunkReference(tag: try Bytes.tag(chunk), size: size))
        }
        // A file with no chunks (an empty image has none) is stored too.
        for row in try await rows("SELECT tag FROM files WHERE tag = ANY(\(Bytes.array(tags)))") {
            let tag = try row.tag()
            if lists[tag] == nil { lists[tag] = [] }
        }
        return lists
    }

    /// The files session `id` announced, in order (none when there is no such session).
    func announcedFiles(session id: String) async throws -> [AnnouncedFile] {
        try await rows("SELECT file_tag, chunks FROM upload_session_files WHERE session = \(id) ORDER BY position").map { row in
            let (file, packed) = try row.decode((ByteBuffer, ByteBuffer).self)
            guard let chunks = ChunkListCoding.decode(Array(buffer: packed)) else {
                throw PostgresMetadataStoreError.malformedValue(column: "chunks")
            }
            return AnnouncedFile(fileTag: try Bytes.tag(file), chunks: chunks)
        }
    }
}
