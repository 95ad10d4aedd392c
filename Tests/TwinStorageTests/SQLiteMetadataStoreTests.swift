import Convergent
import Foundation
import Testing
import GRDB
@testable import TwinStorage
import TwinStorageConformance

typealias Tag = Convergent.Tag

@Suite("MemoryMetadataStore")
struct MemoryMetadataStoreTests {
    @Test("conformance", arguments: MetadataStoreConformance.allCases)
    func conformance(_ behaviour: MetadataStoreConformance) async throws {
        try await behaviour.run({ MemoryMetadataStore() }, dispose: { _ in })
    }
}

@Suite("SQLiteMetadataStore")
struct SQLiteMetadataStoreTests {
    /// Runs `body` on a store over a fresh database file, then closes it and removes the folder.
    private func withDatabase(_ body: (String) async throws -> Void) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await body(directory.path + "/metadata.sqlite")
    }

    @Test("conformance", arguments: MetadataStoreConformance.allCases)
    func conformance(_ behaviour: MetadataStoreConformance) async throws {
        try await withDatabase { path in
            try await behaviour.run({ try await SQLiteMetadataStore.open(path: path) }, dispose: { try await $0.close() })
        }
    }

    @Test("data survives close and reopen")
    func durability() async throws {
        try await withDatabase { path in
            let file = Fixture.file(1, chunks: [Fixture.chunk(1, size: 10), Fixture.chunk(2, size: 20)])
            let entry = Fixture.entry(owner: "alice", name: "kept.jpg", file: file)
            let grant = GrantRecord(owner: "alice", grantee: "bob", policy: "family", sealedKey: [1], createdAt: Fixture.epoch)
            var session = Fixture.uploadSession("open", user: "bob", file: file, missing: [Fixture.tag(2)])
            session.challenge = Fixture.challenge(session: "open")

            let first = try await SQLiteMetadataStore.open(path: path)
            try await first.createUser(Fixture.user("alice"))
            try await first.createUser(Fixture.user("bob"))
            try await first.record(file)
            try await first.upload(entry, file: file)
            try await first.putGrant(grant)
            try await first.createUploadSession(session)
            #expect(FileManager.default.fileExists(atPath: path + "-wal"), "the database runs in WAL mode")
            let statistics = try await first.statistics()
            try await first.close()

            let second = try await SQLiteMetadataStore.open(path: path)
            #expect(try await second.user(named: "alice") == Fixture.user("alice"))
            #expect(try await second.entry(owner: "alice", name: "kept.jpg") == entry)
            #expect(try await second.file(file.tag) == file)
            #expect(try await second.grant(owner: "alice", grantee: "bob") == grant)
            #expect(try await second.uploadSession(id: "open") == session)
            #expect(try await second.statistics() == statistics)
            try await second.close()
        }
    }

    @Test("records a client was promised wait for a sync of the log; protocol state does not")
    func durabilityTiers() async throws {
        try await withDatabase { path in
            let store = try await SQLiteMetadataStore.open(path: path)
            #expect(try await store.synchronousLevel() == 1, "commits append to the log unsynced (NORMAL)")
            var syncs = store.logSyncCount
            #expect(syncs == 1, "the migrations are synced at open")
            /// Runs `operation` and checks whether it waited for one more sync of the log.
            func expectSynced(_ synced: Bool, _ what: Comment, _ operation: () async throws -> Void) async throws {
                try await operation()
                let now = store.logSyncCount
                #expect(now == syncs + (synced ? 1 : 0), what)
                syncs = now
            }
            try await expectSynced(true, "a new user") { try await store.createUser(Fixture.user("alice")) }
            try await expectSynced(false, "a bearer session") {
                try await store.storeSession(tokenHash: [1, 2, 3], user: "alice", expiresAt: Fixture.epoch)
            }
            let file = Fixture.file(1, chunks: [Fixture.chunk(1)])
            try await expectSynced(false, "an upload session and its received chunks") {
                try await store.createUploadSession(Fixture.uploadSession("s", user: "alice", file: file, missing: [Fixture.tag(1)]))
                try await store.recordReceived([Fixture.chunk(1)], session: "s")
            }
            try await expectSynced(true, "a committed entry") {
                try await store.commit(entry: Fixture.entry(owner: "alice", name: "a.jpg", file: file), file: file, sessionID: "s")
            }
            try await expectSynced(false, "a login nonce") {
                try await store.storeLoginChallenge([9], user: "alice", expiresAt: Fixture.epoch)
            }
            try await expectSynced(true, "a consumed login nonce must not come back") {
                _ = try await store.consumeLoginChallenge([9], now: Fixture.epoch.addingTimeInterval(-1))
            }
            try await store.createUser(Fixture.user("bob"))
            syncs = store.logSyncCount
            try await expectSynced(true, "a grant") {
                try await store.putGrant(GrantRecord(owner: "alice", grantee: "bob", policy: "a", sealedKey: [1], createdAt: Fixture.epoch))
            }
            try await expectSynced(true, "a revocation") { _ = try await store.revokeGrant(owner: "alice", grantee: "bob") }
            try await expectSynced(true, "a deletion") {
                _ = try await store.deleteEntry(owner: "alice", name: "a.jpg", now: Fixture.epoch)
            }
            try await expectSynced(true, "a collection") {
                _ = try await store.collectGarbage(unreferencedBefore: Fixture.epoch, now: Fixture.epoch)
            }
            try await store.close()
        }
    }

    @Test("durable writes racing each other share syncs of the log and all land")
    func groupCommit() async throws {
        try await withDatabase { path in
            let store = try await SQLiteMetadataStore.open(path: path)
            let before = store.logSyncCount
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<40 { group.addTask { try await store.createUser(Fixture.user("user\(index)")) } }
                try await group.waitForAll()
            }
            let syncs = store.logSyncCount - before
            #expect(syncs >= 1 && syncs <= 40)
            try await store.close()
            let reopened = try await SQLiteMetadataStore.open(path: path)
            for index in 0..<40 { #expect(try await reopened.user(named: "user\(index)") != nil) }
            try await reopened.close()
        }
    }

    @Test("migrations apply in order and once; a failed one changes nothing; a newer schema is refused")
    func migrations() async throws {
        let current = SQLiteSchema.migrations.count
        try await withDatabase { path in
            let first = try await SQLiteMetadataStore.open(path: path)
            #expect(try await first.schemaVersion() == current)
            try await first.createUser(Fixture.user("alice"))
            try await first.close()

            let upgraded = SQLiteSchema.migrations + [SQLiteSchema.Migration(version: current + 1, statements: [
                "ALTER TABLE users ADD COLUMN display_name TEXT",
                "UPDATE users SET display_name = upper(name)",
            ])]
            let second = try await SQLiteMetadataStore.open(path: path, migrations: upgraded)
            #expect(try await second.schemaVersion() == current + 1)
            #expect(try await second.user(named: "alice") == Fixture.user("alice"))
            try await second.close()
            // Applied once: a second ALTER TABLE would fail.
            try await SQLiteMetadataStore.open(path: path, migrations: upgraded).close()

            let broken = upgraded + [SQLiteSchema.Migration(version: current + 2, statements: ["CREATE TABLE t (x)", "NOT SQL"])]
            await #expect(throws: (any Error).self) { try await SQLiteMetadataStore.open(path: path, migrations: broken) }
            // Rolled back whole: table t does not exist, so creating it again works.
            let fixed = upgraded + [SQLiteSchema.Migration(version: current + 2, statements: ["CREATE TABLE t (x)"])]
            let third = try await SQLiteMetadataStore.open(path: path, migrations: fixed)
            #expect(try await third.schemaVersion() == current + 2)
            try await third.close()

            await #expect(throws: SQLiteMetadataStoreError.unsupportedSchemaVersion(found: current + 2, supported: current)) {
                try await SQLiteMetadataStore.open(path: path)
            }
        }
    }

    @Test("an upload session begun under schema 1 (one file per session) is read and committed after the upgrade")
    func sessionSurvivesBatchMigration() async throws {
        try await withDatabase { path in
            let file = Fixture.file(1, chunks: [Fixture.chunk(1), Fixture.chunk(2), Fixture.chunk(1)])
            let old = try await SQLiteMetadataStore.open(path: path, migrations: Array(SQLiteSchema.migrations.prefix(1)))
            try await old.createUser(Fixture.user("alice"))
            try await old.close()
            // What a schema-1 server wrote when chunks arrived and a session began.
            let queue = try DatabaseQueue(path: path)
            try await queue.write { db in
                try db.execute(sql: """
                    INSERT INTO upload_sessions (id, user, file_tag, chunks, challenge, ownership_proven, expires_at)
                    VALUES (?, 'alice', ?, ?, ?, 1, ?)
                    """, arguments: ["v1", Data(file.tag.bytes), Data(ChunkListCoding.encode(file.chunks)),
                                     try ChallengeCoding.encodeSchema1(Fixture.challenge(session: "v1")),
                                     SQLiteValue.milliseconds(Date().addingTimeInterval(3600))])
                for tag in [Fixture.tag(1), Fixture.tag(2)] {
                    try db.execute(sql: "INSERT INTO chunks (tag, size, refs, unreferenced_since) VALUES (?, 1000, 0, 0)",
                                   arguments: [Data(tag.bytes)])
                    try db.execute(sql: "INSERT INTO upload_session_tags (session, tag, missing, received) VALUES ('v1', ?, 0, 0)",
                                   arguments: [Data(tag.bytes)])
                }
            }
            try queue.close()

            let store = try await SQLiteMetadataStore.open(path: path)
            let session = try #require(try await store.uploadSession(id: "v1"))
            #expect(session.files == [AnnouncedFile(fileTag: file.tag, chunks: file.chunks)])
            #expect(session.challenge == Fixture.challenge(session: "v1"), "a schema-1 JSON challenge is still read")
            #expect(try await store.uploadSessionChunks(id: "v1", tags: [Fixture.tag(2)])?.chunks[Fixture.tag(2)]?.size == 1000)
            try await store.commit(entry: Fixture.entry(owner: "alice", name: "a.jpg", file: file), file: file, sessionID: "v1")
            #expect(try await store.file(file.tag) == file)
            #expect(try await store.uploadSession(id: "v1") == nil)
            try await store.close()
        }
    }

    @Test("a write asked for by a cancelled task still completes")
    func cancelledWrite() async throws {
        try await withDatabase { path in
            let store = try await SQLiteMetadataStore.open(path: path)
            let writer = Task {
                withUnsafeCurrentTask { $0?.cancel() }
                try await store.createUser(Fixture.user("alice"))
            }
            try await writer.value
            #expect(try await store.user(named: "alice") == Fixture.user("alice"))
            try await store.close()
        }
    }

    @Test("a closed store refuses calls")
    func closed() async throws {
        try await withDatabase { path in
            let store = try await SQLiteMetadataStore.open(path: path)
            try await store.close()
            try await store.close()
            await #expect(throws: SQLiteMetadataStoreError.closed) { try await store.user(named: "alice") }
        }
    }

    @Test("commit refuses a missing, foreign or reused session and unrecorded chunks, changing nothing")
    func commitGuards() async throws {
        try await withDatabase { path in
            let store = try await SQLiteMetadataStore.open(path: path)
            try await store.createUser(Fixture.user("alice"))
            try await store.createUser(Fixture.user("bob"))
            let file = Fixture.file(1, chunks: [Fixture.chunk(1), Fixture.chunk(2)])
            let entry = Fixture.entry(owner: "alice", name: "x", file: file)
            try await store.record(Fixture.chunk(1))

            await #expect(throws: MetadataStoreError.notFound(.uploadSession("none"))) {
                try await store.commit(entry: entry, file: file, sessionID: "none")
            }
            try await store.createUploadSession(Fixture.uploadSession("bobs", user: "bob", file: file))
            await #expect(throws: MetadataStoreError.notFound(.uploadSession("bobs"))) {
                try await store.commit(entry: entry, file: file, sessionID: "bobs")
            }
            try await store.createUploadSession(Fixture.uploadSession("alices", user: "alice", file: file))
            await #expect(throws: MetadataStoreError.notFound(.chunk(Fixture.tag(2)))) {
                try await store.commit(entry: entry, file: file, sessionID: "alices")
            }
            #expect(try await store.uploadSession(id: "alices") != nil, "rolled back: the session is still there")
            #expect(try await store.file(file.tag) == nil)

            try await store.record(Fixture.chunk(2))
            try await store.commit(entry: entry, file: file, sessionID: "alices")
            await #expect(throws: MetadataStoreError.notFound(.uploadSession("alices"))) {
                try await store.commit(entry: Fixture.entry(owner: "alice", name: "y", file: file), file: file, sessionID: "alices")
            }
            #expect(try await store.statistics().entries == 1)
            try await store.close()
        }
    }

    @Test("unknown users and sessions are reported as not found")
    func unknownReferences() async throws {
        try await withDatabase { path in
            let store = try await SQLiteMetadataStore.open(path: path)
            let file = Fixture.file(1, chunks: [Fixture.chunk(1)])
            await #expect(throws: MetadataStoreError.notFound(.user("ghost"))) {
                try await store.createUploadSession(Fixture.uploadSession("s", user: "ghost", file: file))
            }
            await #expect(throws: MetadataStoreError.notFound(.user("ghost"))) {
                try await store.storeSession(tokenHash: [1], user: "ghost", expiresAt: Fixture.epoch)
            }
            await #expect(throws: MetadataStoreError.notFound(.uploadSession("s"))) {
                try await store.recordReceived([Fixture.chunk(1)], session: "s")
            }
            await #expect(throws: MetadataStoreError.notFound(.uploadSession("s"))) { try await store.takeChallenge(session: "s") }
            await #expect(throws: MetadataStoreError.notFound(.uploadSession("s"))) { try await store.setOwnershipProven(session: "s") }
            try await store.deleteUploadSession(id: "s")
            try await store.createUser(Fixture.user("alice"))
            try await store.createUploadSession(Fixture.uploadSession("s", user: "alice", file: file))
            await #expect(throws: MetadataStoreError.conflict(.uploadSession("s"))) {
                try await store.createUploadSession(Fixture.uploadSession("s", user: "alice", file: file))
            }
            try await store.close()
        }
    }

    @Test("garbage collection also forgets expired sessions and challenges")
    func collectionPurgesExpired() async throws {
        try await withDatabase { path in
            let store = try await SQLiteMetadataStore.open(path: path)
            try await store.createUser(Fixture.user("alice"))
            let now = Fixture.epoch
            let file = Fixture.file(1, chunks: [Fixture.chunk(1)])
            try await store.createUploadSession(Fixture.uploadSession("old", user: "alice", file: file, expiresAt: now))
            try await store.createUploadSession(Fixture.uploadSession("new", user: "alice", file: file,
                                                                      expiresAt: now.addingTimeInterval(1)))
            try await store.storeSession(tokenHash: [1], user: "alice", expiresAt: now.addingTimeInterval(1))
            try await store.storeLoginChallenge([2], user: "alice", expiresAt: now)
            _ = try await store.collectGarbage(unreferencedBefore: now, now: now)
            #expect(try await store.uploadSession(id: "old") == nil)
            #expect(try await store.uploadSession(id: "new") != nil)
            #expect(try await store.sessionUser(tokenHash: [1], now: now) == "alice")
            #expect(try await store.consumeLoginChallenge([2], now: now.addingTimeInterval(-10)) == nil)
            try await store.close()
        }
    }

    @Test("two connections to one file (as two server processes) serialize their writes")
    func twoConnections() async throws {
        try await withDatabase { path in
            let setup = try await SQLiteMetadataStore.open(path: path)
            let file = Fixture.file(1, chunks: (0..<4).map { Fixture.chunk($0) })
            for index in 0..<10 {
                try await setup.createUser(Fixture.user("user\(index)"))
                try await setup.createUploadSession(Fixture.uploadSession("s\(index)", user: "user\(index)", file: file))
            }
            try await setup.record(file)
            try await setup.close()

            let stores = [try await SQLiteMetadataStore.open(path: path), try await SQLiteMetadataStore.open(path: path)]
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<10 {
                    let store = stores[index % 2]
                    group.addTask {
                        try await store.commit(entry: Fixture.entry(owner: "user\(index)", name: "same", file: file),
                                               file: file, sessionID: "s\(index)")
                    }
                }
                try await group.waitForAll()
            }
            for store in stores {
                let statistics = try await store.statistics()
                #expect(statistics.files == 1)
                #expect(statistics.entries == 10)
            }
            for store in stores { try await store.close() }
        }
    }
}
