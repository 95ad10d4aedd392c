import Convergent
import Foundation
import Testing
import TwinStorage

/// The behaviours every `MetadataStore` must show, written against the protocol alone: what the
/// server relies on, refusals, expiry, concurrency and garbage-collection safety. An
/// implementation's test runs each case on a fresh, empty store from a factory:
///
///     @Test(arguments: MetadataStoreConformance.allCases)
///     func conformance(_ behaviour: MetadataStoreConformance) async throws {
///         try await behaviour.run({ try await MyStore.open(...) }, dispose: { try await $0.close() })
///     }
public enum MetadataStoreConformance: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case users
    case loginChallenges
    case sessions
    case serverSecret
    case uploadSessionLifecycle
    case batchedUploadSession
    case uploadSessionChunks
    case storedChunks
    case commitStoresFileAndEntry
    case commitConflictChangesNothing
    case secondUploaderAddsOnlyAnEntry
    case entryKeysUpdateAllOrNone
    case entryPages
    case deleteEntryReleasesReferences
    case heldChunksAreTheOwnersCommittedOnes
    case recordReceivedChunk
    case garbageCollectionWaitsForGracePeriod
    case garbageCollectionSparesLiveUploadSessions
    case garbageCollectionSparesSharedChunks
    case garbageCollectionRefusesDoomedChunks
    case lostChunksAreOfferedForUpload
    case grants
    case statistics
    case concurrentCommitsOfOneFile
    case collectionRacingRecording
    case commitRacingLastDeletion
    case quota
    case sessionLimit
    case commitReplacesEntries

    public var testDescription: String { rawValue }

    /// Runs the behaviour on a store from `makeStore`; `dispose` releases it (closing a database),
    /// whether the behaviour passed or not.
    public func run<Store: MetadataStore>(_ makeStore: () async throws -> Store,
                                          dispose: (Store) async throws -> Void) async throws {
        try await withFresh(makeStore, dispose: dispose) { try await body($0) }
    }

    private func body(_ store: any MetadataStore) async throws {
        switch self {
        case .users: try await Self.users(store)
        case .loginChallenges: try await Self.loginChallenges(store)
        case .sessions: try await Self.sessions(store)
        case .serverSecret: try await Self.serverSecret(store)
        case .uploadSessionLifecycle: try await Self.uploadSessionLifecycle(store)
        case .batchedUploadSession: try await Self.batchedUploadSession(store)
        case .uploadSessionChunks: try await Self.uploadSessionChunks(store)
        case .storedChunks: try await Self.storedChunks(store)
        case .commitStoresFileAndEntry: try await Self.commitStoresFileAndEntry(store)
        case .commitConflictChangesNothing: try await Self.commitConflictChangesNothing(store)
        case .secondUploaderAddsOnlyAnEntry: try await Self.secondUploaderAddsOnlyAnEntry(store)
        case .entryKeysUpdateAllOrNone: try await Self.entryKeysUpdateAllOrNone(store)
        case .entryPages: try await Self.entryPages(store)
        case .deleteEntryReleasesReferences: try await Self.deleteEntryReleasesReferences(store)
        case .heldChunksAreTheOwnersCommittedOnes: try await Self.heldChunksAreTheOwnersCommittedOnes(store)
        case .recordReceivedChunk: try await Self.recordReceivedChunk(store)
        case .garbageCollectionWaitsForGracePeriod: try await Self.garbageCollectionWaitsForGracePeriod(store)
        case .garbageCollectionSparesLiveUploadSessions: try await Self.garbageCollectionSparesLiveUploadSessions(store)
        case .garbageCollectionSparesSharedChunks: try await Self.garbageCollectionSparesSharedChunks(store)
        case .garbageCollectionRefusesDoomedChunks: try await Self.garbageCollectionRefusesDoomedChunks(store)
        case .lostChunksAreOfferedForUpload: try await Self.lostChunksAreOfferedForUpload(store)
        case .grants: try await Self.grants(store)
        case .statistics: try await Self.statistics(store)
        case .concurrentCommitsOfOneFile: try await Self.concurrentCommitsOfOneFile(store)
        case .collectionRacingRecording: try await Self.collectionRacingRecording(store)
        case .commitRacingLastDeletion: try await Self.commitRacingLastDeletion(store)
        case .quota: try await Self.quota(store)
        case .sessionLimit: try await Self.sessionLimit(store)
        case .commitReplacesEntries: try await Self.commitReplacesEntries(store)
        }
    }

    /// A cutoff after anything the store recorded during the test: collects every unreferenced chunk.
    private static var everythingIsOld: Date { Date().addingTimeInterval(3600) }

    /// What `collectGarbage` returned, as a set: the protocol promises no order.
    private static func garbage(_ store: any MetadataStore, before cutoff: Date, now: Date) async throws -> Set<Tag> {
        let collected = try await store.collectGarbage(unreferencedBefore: cutoff, now: now)
        #expect(collected.count == Set(collected).count, "each tag is returned once")
        try await store.forgetCollected(collected)
        return Set(collected)
    }

    // MARK: Users and authentication

    private static func users(_ store: any MetadataStore) async throws {
        let alice = Fixture.user("alice")
        try await store.createUser(alice)
        #expect(try await store.user(named: "alice") == alice)
        #expect(try await store.user(named: "bob") == nil)
        // Names are exact: no case folding.
        #expect(try await store.user(named: "Alice") == nil)

        var impostor = Fixture.user("alice")
        impostor.signingKey = Array(repeating: 7, count: 32)
        await #expect(throws: MetadataStoreError.conflict(.user("alice"))) { try await store.createUser(impostor) }
        #expect(try await store.user(named: "alice")?.signingKey == alice.signingKey)
        #expect(try await store.statistics().users == 1)
    }

    private static func loginChallenges(_ store: any MetadataStore) async throws {
        try await store.createUser(Fixture.user("alice"))
        let now = Fixture.epoch
        let nonce: [UInt8] = Array(repeating: 0x42, count: 32)
        try await store.storeLoginChallenge(nonce, user: "alice", expiresAt: now.addingTimeInterval(60))
        #expect(try await store.consumeLoginChallenge(Array(repeating: 0x43, count: 32), now: now) == nil)
        #expect(try await store.consumeLoginChallenge(nonce, now: now) == "alice")
        #expect(try await store.consumeLoginChallenge(nonce, now: now) == nil, "a login challenge is single use")

        let late: [UInt8] = Array(repeating: 0x44, count: 32)
        try await store.storeLoginChallenge(late, user: "alice", expiresAt: now.addingTimeInterval(60))
        #expect(try await store.consumeLoginChallenge(late, now: now.addingTimeInterval(60)) == nil, "expired at its deadline")
        #expect(try await store.consumeLoginChallenge(late, now: now) == nil, "an expired challenge is consumed too")

        // Unknown names get challenges too (the login endpoint must not reveal which accounts exist).
        let probe: [UInt8] = Array(repeating: 0x45, count: 32)
        try await store.storeLoginChallenge(probe, user: "nobody", expiresAt: now.addingTimeInterval(60))
        #expect(try await store.consumeLoginChallenge(probe, now: now) == "nobody")
    }

    private static func sessions(_ store: any MetadataStore) async throws {
        try await store.createUser(Fixture.user("alice"))
        let now = Fixture.epoch
        let token: [UInt8] = Array(repeating: 0x10, count: 32)
        try await store.storeSession(tokenHash: token, user: "alice", expiresAt: now.addingTimeInterval(3600))
        #expect(try await store.sessionUser(tokenHash: token, now: now) == "alice")
        #expect(try await store.sessionUser(tokenHash: token, now: now.addingTimeInterval(3599)) == "alice")
        #expect(try await store.sessionUser(tokenHash: token, now: now.addingTimeInterval(3600)) == nil)
        #expect(try await store.sessionUser(tokenHash: Array(repeating: 0x11, count: 32), now: now) == nil)
        // Sessions are not single use.
        #expect(try await store.sessionUser(tokenHash: token, now: now) == "alice")
    }

    // MARK: Upload sessions

    /// Made once, then the same for every caller (every node of a shared store), even when
    /// several ask first at once.
    private static func serverSecret(_ store: any MetadataStore) async throws {
        let first = try await withThrowingTaskGroup(of: [UInt8].self) { group in
            for _ in 0..<8 { group.addTask { try await store.serverSecret() } }
            return try await group.reduce(into: Set<[UInt8]>()) { $0.insert($1) }
        }
        #expect(first.count == 1, "one secret, whoever asked first")
        #expect(first.first?.count == 32)
        #expect(first.first.map { Set($0).count > 4 } == true, "random, not a constant")
        #expect(try await store.serverSecret() == first.first)
    }

    private static func uploadSessionLifecycle(_ store: any MetadataStore) async throws {
        try await store.createUser(Fixture.user("alice"))
        let file = Fixture.file(1, chunks: [Fixture.chunk(1, size: 10), Fixture.chunk(2, size: 20), Fixture.chunk(1, size: 10),
                                            Fixture.chunk(3, size: 30)])
        var session = Fixture.uploadSession("s1", user: "alice", file: file, missing: [Fixture.tag(2), Fixture.tag(3)],
                                            expiresAt: Fixture.epoch.addingTimeInterval(900))
        session.challenge = Fixture.challenge(session: "s1")
        try await store.createUploadSession(session)
        #expect(try await store.uploadSession(id: "s1") == session)
        #expect(try await store.uploadSession(id: "s2") == nil)

        try await store.recordReceived([Fixture.chunk(2, size: 20)], session: "s1")
        try await store.recordReceived([Fixture.chunk(2, size: 20)], session: "s1")
        var stored = try #require(try await store.uploadSession(id: "s1"))
        #expect(stored.received == [Fixture.tag(2)])
        #expect(stored.missing == [Fixture.tag(2), Fixture.tag(3)], "missing is what was announced, not what is left")
        #expect(stored.chunks == file.chunks, "chunk order and repetitions are kept")

        #expect(try await store.takeChallenge(session: "s1")
                == TakenChallenge(user: "alice", challenge: session.challenge!, chunks: file.chunks))
        #expect(try await store.takeChallenge(session: "s1") == nil, "a challenge is single use")
        stored = try #require(try await store.uploadSession(id: "s1"))
        #expect(stored.challenge == nil)
        #expect(!stored.ownershipProven)

        try await store.setOwnershipProven(session: "s1")
        stored = try #require(try await store.uploadSession(id: "s1"))
        #expect(stored.ownershipProven)
        #expect(stored.received == [Fixture.tag(2)])

        try await store.deleteUploadSession(id: "s1")
        #expect(try await store.uploadSession(id: "s1") == nil)
        // The id is free again.
        try await store.createUploadSession(Fixture.uploadSession("s1", user: "alice", file: file))
        #expect(try await store.uploadSession(id: "s1")?.missing == [])
    }

    /// A session of several files keeps them in order; its commit adds every entry or none, and only
    /// for exactly the announced files.
    private static func batchedUploadSession(_ store: any MetadataStore) async throws {
        try await store.createUser(Fixture.user("alice"))
        let first = Fixture.file(1, chunks: [Fixture.chunk(1), Fixture.chunk(2)])
        let second = Fixture.file(2, chunks: [Fixture.chunk(2), Fixture.chunk(3), Fixture.chunk(2)])
        for file in [first, second] { try await store.record(file) }
        let files = [first, second, first].map { AnnouncedFile(fileTag: $0.tag, chunks: $0.chunks) }
        let session = UploadSessionRecord(id: "batch", user: "alice", files: files, missing: [Fixture.tag(3)], received: [],
                                          challenge: nil, ownershipProven: true, expiresAt: Fixture.epoch.addingTimeInterval(900))
        try await store.createUploadSession(session)
        #expect(try await store.uploadSession(id: "batch") == session)
        #expect(session.chunks == first.chunks + second.chunks + first.chunks)

        let entries = [(Fixture.entry(owner: "alice", name: "a", file: first), first),
                       (Fixture.entry(owner: "alice", name: "b", file: second), second),
                       (Fixture.entry(owner: "alice", name: "c", file: first), first)]
        // Not the announced files, or not in their order: refused, nothing changes.
        await #expect(throws: MetadataStoreError.notFound(.uploadSession("batch"))) {
            try await store.commit(Array(entries.prefix(2)), sessionID: "batch")
        }
        await #expect(throws: MetadataStoreError.notFound(.uploadSession("batch"))) {
            try await store.commit([entries[1], entries[0], entries[2]], sessionID: "batch")
        }
        // A name taken twice in the batch: the whole commit rolls back.
        let clash = [entries[0], entries[1], (Fixture.entry(owner: "alice", name: "a", file: first), first)]
        await #expect(throws: MetadataStoreError.conflict(.entry(owner: "alice", name: "a"))) { try await store.commit(clash, sessionID: "batch") }
        #expect(try await store.entries(owner: "alice").isEmpty)
        #expect(try await store.file(first.tag) == nil)
        #expect(try await store.uploadSession(id: "batch") == session)

        #expect(try await store.uploadLookup(files: [first.tag, second.tag], chunks: [], user: "alice").files.isEmpty)
        try await store.commit(entries, sessionID: "batch")
        #expect(try await store.entries(owner: "alice").map(\.name) == ["a", "b", "c"])
        #expect(try await store.uploadLookup(files: [second.tag, Fixture.tag(77), first.tag, second.tag], chunks: [], user: "alice").files
                == [first.tag: first.chunks, second.tag: second.chunks])
        #expect(try await store.uploadLookup(files: [], chunks: [], user: "alice").files.isEmpty)
        #expect(try await store.file(first.tag) == first)
        #expect(try await store.file(second.tag) == second)
        #expect(try await store.uploadSession(id: "batch") == nil)
        // One reference per position of each stored file: chunk 2 is used once by the first file and
        // twice by the second, so deleting the entries of the second leaves it referenced.
        #expect(try await store.deleteEntry(owner: "alice", name: "b", now: Date()))
        #expect(try await Self.garbage(store, before: everythingIsOld, now: Date()) == [Fixture.tag(3)])
    }

    private static func uploadSessionChunks(_ store: any MetadataStore) async throws {
        try await store.createUser(Fixture.user("alice"))
        let first = Fixture.file(1, chunks: [Fixture.chunk(1, size: 10), Fixture.chunk(2, size: 20)])
        let second = Fixture.file(2, chunks: [Fixture.chunk(3, size: 30)])
        let expiry = Fixture.epoch.addingTimeInterval(900)
        try await store.createUploadSession(UploadSessionRecord(
            id: "s", user: "alice", files: [first, second].map { AnnouncedFile(fileTag: $0.tag, chunks: $0.chunks) },
            missing: [Fixture.tag(2), Fixture.tag(3)], received: [], challenge: Fixture.challenge(session: "s"),
            ownershipProven: false, expiresAt: expiry))
        #expect(try await store.uploadSessionChunks(id: "s", tags: [Fixture.tag(1), Fixture.tag(3), Fixture.tag(9)])
                == UploadSessionChunks(user: "alice", expiresAt: expiry, chunks: [
                    Fixture.tag(1): .init(size: 10, missing: false, received: false),
                    Fixture.tag(3): .init(size: 30, missing: true, received: false)]),
                "a tag the session does not announce is absent")
        try await store.recordReceived([Fixture.chunk(3, size: 30)], session: "s")
        #expect(try await store.uploadSessionChunks(id: "s", tags: [Fixture.tag(3)])?.chunks[Fixture.tag(3)]?.received == true)
        #expect(try await store.uploadSessionChunks(id: "s", tags: [])?.chunks == [:])
        #expect(try await store.uploadSessionChunks(id: "t", tags: [Fixture.tag(1)]) == nil)
    }

    private static func storedChunks(_ store: any MetadataStore) async throws {
        #expect(try await store.storedChunks([Fixture.tag(1)]).isEmpty)
        try await store.record(Fixture.chunk(1, size: 11))
        try await store.record(Fixture.chunk(2, size: 22))
        try await store.record(Fixture.chunk(1, size: 11))
        #expect(try await store.storedChunks([Fixture.tag(1), Fixture.tag(3), Fixture.tag(2), Fixture.tag(1)])
                == [Fixture.tag(1): 11, Fixture.tag(2): 22])
        #expect(try await store.storedChunks([]).isEmpty)
        // More tags than one SQL statement would take comfortably.
        let many = (0..<1500).map { Fixture.tag(10_000 + $0) } + [Fixture.tag(2)]
        #expect(try await store.storedChunks(many) == [Fixture.tag(2): 22])
        #expect(try await store.statistics().chunks == 2)
    }

    // MARK: Entries

    private static func commitStoresFileAndEntry(_ store: any MetadataStore) async throws {
        try await store.createUser(Fixture.user("alice"))
        let file = Fixture.file(1, chunks: [Fixture.chunk(1, size: 10), Fixture.chunk(2, size: 20), Fixture.chunk(1, size: 10)])
        try await store.record(file)
        #expect(try await store.file(file.tag) == nil)
        let entry = Fixture.entry(owner: "alice", name: "beach.jpg", file: file)
        try await store.createUploadSession(Fixture.uploadSession("s1", user: "alice", file: file))
        try await store.commit(entry: entry, file: file, sessionID: "s1")

        #expect(try await store.file(file.tag) == file)
        #expect(try await store.entry(owner: "alice", name: "beach.jpg") == entry)
        #expect(try await store.entry(owner: "alice", name: "other.jpg") == nil)
        #expect(try await store.entries(owner: "alice") == [entry])
        #expect(try await store.entries(owner: "bob") == [])
        #expect(try await store.uploadSession(id: "s1") == nil, "commit consumes the upload session")
        // Committed chunks are referenced: no grace period makes them garbage.
        #expect(try await Self.garbage(store, before: everythingIsOld, now: Date()) == [])
    }

    /// A re-key replaces the wrapped key and seal of every named entry or of none; an entry whose
    /// seal changed since it was read, or that is gone, refuses the whole batch.
    private static func entryKeysUpdateAllOrNone(_ store: any MetadataStore) async throws {
        try await store.createUser(Fixture.user("alice"))
        try await store.createUser(Fixture.user("bob"))
        let file = Fixture.file(1, chunks: [Fixture.chunk(1, size: 10)])
        try await store.record(file)
        let a = Fixture.entry(owner: "alice", name: "a", file: file), b = Fixture.entry(owner: "alice", name: "b", file: file)
        let bobs = Fixture.entry(owner: "bob", name: "a", file: file)
        for entry in [a, b, bobs] { try await store.upload(entry, file: file) }
        let rewrap = { (entry: EntryRecord, round: UInt8) in
            EntryKeyUpdate(name: entry.name, previousSeal: entry.ownerSeal, attributeWrappedKey: [round, 1], ownerSeal: [round, 2])
        }

        let stale = EntryKeyUpdate(name: "b", previousSeal: [0xEE], attributeWrappedKey: [9], ownerSeal: [9])
        await #expect(throws: MetadataStoreError.conflict(.entry(owner: "alice", name: "b"))) {
            try await store.updateEntryKeys(owner: "alice", [rewrap(a, 1), stale])
        }
        await #expect(throws: MetadataStoreError.notFound(.entry(owner: "alice", name: "missing"))) {
            try await store.updateEntryKeys(owner: "alice", [rewrap(a, 1), EntryKeyUpdate(name: "missing", previousSeal: [], attributeWrappedKey: [], ownerSeal: [])])
        }
        #expect(try await store.entries(owner: "alice") == [a, b], "a refused batch changes nothing")

        try await store.updateEntryKeys(owner: "alice", [rewrap(a, 1), rewrap(b, 1)])
        var expected = [a, b]
        for index in expected.indices { (expected[index].attributeWrappedKey, expected[index].ownerSeal) = ([1, 1], [1, 2]) }
        #expect(try await store.entries(owner: "alice") == expected)
        #expect(try await store.entry(owner: "bob", name: "a") == bobs, "another owner's entry of the same name is untouched")
        await #expect(throws: MetadataStoreError.conflict(.entry(owner: "alice", name: "a")), "an update read before the last one is stale") {
            try await store.updateEntryKeys(owner: "alice", [rewrap(a, 2)])
        }
        #expect(try await store.file(file.tag) == file, "keys change, the file does not")
    }

    /// Listings page by name, bytewise, after a cursor, within a prefix: every entry once, in order.
    private static func entryPages(_ store: any MetadataStore) async throws {
        try await store.createUser(Fixture.user("alice"))
        try await store.createUser(Fixture.user("bob"))
        let file = Fixture.file(1, chunks: [Fixture.chunk(1, size: 10)])
        try await store.record(file)
        // Folders, a name that is a prefix of others, non-ASCII names (é is 0xC3 0xA9: after "z"),
        // and '%' and '_' (LIKE's wildcards, which a prefix must not act as).
        let names = ["trip/a.jpg", "trip/b.jpg", "trip/sub/c.jpg", "trip", "tripod.jpg", "z.jpg", "é.jpg", "a_b.jpg", "a%b.jpg", "axb.jpg"]
        try await store.createUploadSession(UploadSessionRecord(
            id: "pages", user: "alice", files: names.map { _ in AnnouncedFile(fileTag: file.tag, chunks: file.chunks) }, missing: [],
            received: [], challenge: nil, ownershipProven: true, expiresAt: Fixture.wholeMilliseconds(Date().addingTimeInterval(3600))))
        try await store.commit(names.map { (Fixture.entry(owner: "alice", name: $0, file: file), file) }, sessionID: "pages")
        try await store.upload(Fixture.entry(owner: "bob", name: "trip/a.jpg", file: file), file: file)
        let sorted = names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }

        var pages: [[String]] = []
        var cursor: String?
        repeat {
            let page = try await store.entries(owner: "alice", prefix: "", after: cursor, limit: 3).map(\.name)
            pages.append(page)
            cursor = page.count == 3 ? page.last : nil
        } while cursor != nil
        #expect(pages.flatMap { $0 } == sorted, "every entry once, in byte order")
        #expect(pages.dropLast().allSatisfy { $0.count == 3 })

        #expect(try await store.entries(owner: "alice", prefix: "trip/", after: nil, limit: 10).map(\.name) == ["trip/a.jpg", "trip/b.jpg", "trip/sub/c.jpg"])
        #expect(try await store.entries(owner: "alice", prefix: "trip/", after: "trip/a.jpg", limit: 1).map(\.name) == ["trip/b.jpg"])
        #expect(try await store.entries(owner: "alice", prefix: "trip", after: nil, limit: 10).map(\.name)
                == ["trip", "trip/a.jpg", "trip/b.jpg", "trip/sub/c.jpg", "tripod.jpg"])
        #expect(try await store.entries(owner: "alice", prefix: "a_", after: nil, limit: 10).map(\.name) == ["a_b.jpg"])
        #expect(try await store.entries(owner: "alice", prefix: "a%", after: nil, limit: 10).map(\.name) == ["a%b.jpg"])
        #expect(try await store.entries(owner: "alice", prefix: "é", after: nil, limit: 10).map(\.name) == ["é.jpg"])
        #expect(try await store.entries(owner: "alice", prefix: "", after: "z.jpg", limit: 10).map(\.name) == ["é.jpg"])
        #expect(try await store.entries(owner: "alice", prefix: "", after: "é.jpg", limit: 10) == [])
        #expect(try await store.entries(owner: "alice", prefix: "nothing/", after: nil, limit: 10) == [])
        #expect(try await store.entries(owner: "bob", prefix: "trip/", after: nil, limit: 10).map(\.name) == ["trip/a.jpg"])
        #expect(try await store.entries(owner: "alice").map(\.name) == sorted)
    }

    private static func commitConflictChangesNothing(_ store: any MetadataStore) async throws {
        try await store.createUser(Fixture.user("alice"))
        let first = Fixture.file(1, chunks: [Fixture.chunk(1, size: 10)])
        let second = Fixture.file(2, chunks: [Fixture.chunk(1, size: 10), Fixture.chunk(2, size: 20)])
        try await store.record(first)
        try await store.record(second)
        let original = Fixture.entry(owner: "alice", name: "photo.jpg", file: first, size: 100)
        try await store.upload(original, file: first)
        let before = try await store.statistics()

        try await store.createUploadSession(Fixture.uploadSession("s2", user: "alice", file: second))
        await #expect(throws: MetadataStoreError.conflict(.entry(owner: "alice", name: "photo.jpg"))) {
            try await store.commit(entry: Fixture.entry(owner: "alice", name: "photo.jpg", file: second, size: 200),
                                   file: second, sessionID: "s2")
        }
        // Rolled back as a whole: no file, no references, the session still open.
        #expect(try await store.entry(owner: "alice", name: "photo.jpg") == original)
        #expect(try await store.file(second.tag) == nil)
        #expect(try await store.statistics() == before)
        #expect(try await store.uploadSession(id: "s2") != nil)
        // Chunk 2 was only ever referenced by the rolled-back file: once the session that names it
        // is gone, it is garbage.
        try await store.deleteUploadSession(id: "s2")
        #expect(try await Self.garbage(store, before: everythingIsOld, now: Date()) == [Fixture.tag(2)])
    }

    private static func secondUploaderAddsOnlyAnEntry(_ store: any MetadataStore) async throws {
        try await store.createUser(Fixture.user("alice"))
        try await store.createUser(Fixture.user("bob"))
        let file = Fixture.file(1, chunks: [Fixture.chunk(1, size: 10), Fixture.chunk(2, size: 20)], manifestSize: 50)
        try await store.record(file)
        try await store.upload(Fixture.entry(owner: "alice", name: "a.jpg", file: file, size: 500), file: file)
        let afterFirst = try await store.statistics()
        let bobs = Fixture.entry(owner: "bob", name: "same.jpg", file: file, size: 500, attributes: ["friends"])
        try await store.upload(bobs, file: file)

        let statistics = try await store.statistics()
        #expect(statistics.files == 1)
        #expect(statistics.entries == 2)
        #expect(statistics.storedBytes == afterFirst.storedBytes, "deduplicated: nothing more stored")
        #expect(statistics.logicalBytes == 1000)
        #expect(try await store.entry(owner: "bob", name: "same.jpg") == bobs)
        #expect(try await store.file(file.tag) == file)
    }

    /// The chunk is recorded and marked received; with the session gone the chunk is still recorded
    /// (so its blob can be collected) and the call reports `.notFound`.
    private static func recordReceivedChunk(_ store: any MetadataStore) async throws {
        try await store.createUser(Fixture.user("alice"))
        let file = Fixture.file(1, chunks: [Fixture.chunk(1, size: 11), Fixture.chunk(2, size: 22)])
        try await store.createUploadSession(Fixture.uploadSession("s1", user: "alice", file: file))
        try await store.recordReceived([Fixture.chunk(1, size: 11)], session: "s1")
        try await store.recordReceived([Fixture.chunk(1, size: 11)], session: "s1")  // idempotent
        #expect(try await store.storedChunks([Fixture.tag(1), Fixture.tag(2)]) == [Fixture.tag(1): 11])
        #expect(try await store.uploadSession(id: "s1")?.received == [Fixture.tag(1)])
        do {
            try await store.recordReceived([Fixture.chunk(2, size: 22)], session: "gone")
            Issue.record("a missing session must be reported")
        } catch let error as MetadataStoreError {
            #expect(error == .notFound(.uploadSession("gone")))
        }
        #expect(try await store.storedChunks([Fixture.tag(2)]) == [Fixture.tag(2): 22])
        // Several at once: one transaction records them all.
        try await store.recordReceived([Fixture.chunk(2, size: 22), Fixture.chunk(1, size: 11)], session: "s1")
        #expect(try await store.uploadSession(id: "s1")?.received == [Fixture.tag(1), Fixture.tag(2)])
        await #expect(throws: MetadataStoreError.notFound(.uploadSession("gone"))) {
            try await store.recordReceived([Fixture.chunk(3, size: 33), Fixture.chunk(4, size: 44)], session: "gone")
        }
        #expect(try await store.storedChunks([Fixture.tag(3), Fixture.tag(4)]) == [Fixture.tag(3): 33, Fixture.tag(4): 44])
        // Every receipt of a chunk's data counts, the first included (a dedup threshold reads it).
        #expect(try await store.uploadLookup(files: [], chunks: [Fixture.tag(1), Fixture.tag(2), Fixture.tag(9)], user: "alice").uploads
                == [Fixture.tag(1): 3, Fixture.tag(2): 2])
    }

    /// The stored chunks among `tags` that `user` holds, as a begin reads them.
    private static func held(_ store: any MetadataStore, _ user: String, among tags: [Tag]) async throws -> Set<Tag> {
        try await store.uploadLookup(files: [], chunks: tags, user: user).held
    }

    /// Only chunks of the owner's own entries count as held, and only while an entry uses them.
    private static func heldChunksAreTheOwnersCommittedOnes(_ store: any MetadataStore) async throws {
        try await store.createUser(Fixture.user("alice"))
        try await store.createUser(Fixture.user("bob"))
        let a = Fixture.file(1, chunks: [Fixture.chunk(1), Fixture.chunk(2)])
        let b = Fixture.file(2, chunks: [Fixture.chunk(2), Fixture.chunk(3)])
        try await store.record(a)
        try await store.record(b)
        let asked = [Fixture.tag(1), Fixture.tag(2), Fixture.tag(3), Fixture.tag(4)]
        #expect(try await Self.held(store, "alice", among: asked) == [])
        try await store.upload(Fixture.entry(owner: "alice", name: "a", file: a), file: a)
        try await store.upload(Fixture.entry(owner: "bob", name: "b", file: b), file: b)
        #expect(try await Self.held(store, "alice", among: asked) == [Fixture.tag(1), Fixture.tag(2)])
        #expect(try await Self.held(store, "bob", among: asked) == [Fixture.tag(2), Fixture.tag(3)])
        #expect(try await Self.held(store, "carol", among: asked) == [])
        #expect(try await Self.held(store, "alice", among: []) == [])
        #expect(try await store.deleteEntry(owner: "alice", name: "a", now: Date()))
        #expect(try await Self.held(store, "alice", among: asked) == [], "a deleted entry no longer vouches")

        // Sessions vouch for nothing (issue 19): not chunks received in the owner's own live
        // session, not chunks announced in a session whose proof passed. Only commits do.
        let expiry = Fixture.epoch.addingTimeInterval(900)
        var session = Fixture.uploadSession("s", user: "alice", file: b, missing: [Fixture.tag(3)], expiresAt: expiry)
        session.received = []
        try await store.createUploadSession(session)
        try await store.recordReceived([Fixture.chunk(3)], session: "s")
        #expect(try await Self.held(store, "alice", among: asked) == [], "a received chunk")
        try await store.setOwnershipProven(session: "s")
        #expect(try await Self.held(store, "alice", among: asked) == [], "a proven session")
        #expect(try await Self.held(store, "bob", among: [Fixture.tag(3)]) == [Fixture.tag(3)], "bob's entry")
        // The combined read a begin makes: the same answers in one snapshot.
        let lookup = try await store.uploadLookup(files: [a.tag, b.tag, Fixture.tag(9)], chunks: asked + [Fixture.tag(2)],
                                                  user: "alice")
        #expect(lookup.files == [b.tag: b.chunks], "file A went with its last entry")
        #expect(lookup.chunks == (try await store.storedChunks(asked)))
        #expect(lookup.held == [])
        #expect(try await store.uploadLookup(files: [], chunks: [], user: "alice")
                == UploadLookup(files: [:], chunks: [:], held: [], uploads: [:]))
        let unproven = Fixture.uploadSession("t", user: "carol", file: a, missing: [Fixture.tag(1)], expiresAt: expiry)
        try await store.createUser(Fixture.user("carol"))
        try await store.createUploadSession(unproven)
        #expect(try await Self.held(store, "carol", among: asked) == [], "not proven, nothing received")
        try await store.setOwnershipProven(session: "t")
        #expect(try await Self.held(store, "carol", among: asked) == [], "a proof is not a commit")
    }

    private static func deleteEntryReleasesReferences(_ store: any MetadataStore) async throws {
        try await store.createUser(Fixture.user("alice"))
        try await store.createUser(Fixture.user("bob"))
        // Chunk 1 appears twice in file A; chunk 2 is in both files.
        let a = Fixture.file(1, chunks: [Fixture.chunk(1), Fixture.chunk(2), Fixture.chunk(1)])
        let b = Fixture.file(2, chunks: [Fixture.chunk(2), Fixture.chunk(3)])
        try await store.record(a)
        try await store.record(b)
        try await store.upload(Fixture.entry(owner: "alice", name: "a", file: a), file: a)
        try await store.upload(Fixture.entry(owner: "bob", name: "a", file: a), file: a)
        try await store.upload(Fixture.entry(owner: "alice", name: "b", file: b), file: b)

        #expect(try await store.deleteEntry(owner: "alice", name: "missing", now: Date()) == false)
        #expect(try await store.deleteEntry(owner: "alice", name: "a", now: Date()))
        #expect(try await store.deleteEntry(owner: "alice", name: "a", now: Date()) == false)
        #expect(try await store.entry(owner: "alice", name: "a") == nil)
        #expect(try await store.file(a.tag) == a, "bob's entry still holds file A")
        #expect(try await Self.garbage(store, before: everythingIsOld, now: Date()) == [])

        #expect(try await store.deleteEntry(owner: "bob", name: "a", now: Date()))
        #expect(try await store.file(a.tag) == nil, "the last entry took file A with it")
        #expect(try await store.file(b.tag) == b)
        // Chunk 1 (both of its references) is garbage; chunk 2 is still used by file B.
        #expect(try await Self.garbage(store, before: everythingIsOld, now: Date()) == [Fixture.tag(1)])
        #expect(try await store.storedChunks([Fixture.tag(1), Fixture.tag(2)]) == [Fixture.tag(2): 1000])

        #expect(try await store.deleteEntry(owner: "alice", name: "b", now: Date()))
        #expect(try await Self.garbage(store, before: everythingIsOld, now: Date())
                == [Fixture.tag(2), Fixture.tag(3)])
        let statistics = try await store.statistics()
        #expect(statistics == StoreStatistics(users: 2, entries: 0, files: 0, chunks: 0, logicalBytes: 0, storedBytes: 0))
    }

    private static func garbageCollectionWaitsForGracePeriod(_ store: any MetadataStore) async throws {
        try await store.createUser(Fixture.user("alice"))
        let file = Fixture.file(1, chunks: [Fixture.chunk(1)])
        try await store.record(file)
        try await store.record(Fixture.chunk(9))
        // Freshly recorded chunks are within their grace period.
        let hourAgo = Date().addingTimeInterval(-3600)
        #expect(try await Self.garbage(store, before: hourAgo, now: Date()) == [])

        try await store.upload(Fixture.entry(owner: "alice", name: "x", file: file), file: file)
        let deletedAt = Date().addingTimeInterval(-60)
        #expect(try await store.deleteEntry(owner: "alice", name: "x", now: deletedAt))
        #expect(try await Self.garbage(store, before: deletedAt, now: Date()) == [], "not before the cutoff")
        #expect(try await store.storedChunks([Fixture.tag(1)]) == [Fixture.tag(1): 1000])
        #expect(try await Self.garbage(store, before: deletedAt.addingTimeInterval(0.001), now: Date())
                == [Fixture.tag(1)])
        #expect(try await store.storedChunks([Fixture.tag(1)]).isEmpty)
        #expect(try await Self.garbage(store, before: everythingIsOld, now: Date()) == [Fixture.tag(9)])
        #expect(try await Self.garbage(store, before: everythingIsOld, now: Date()) == [], "collected once")
    }

    private static func garbageCollectionSparesLiveUploadSessions(_ store: any MetadataStore) async throws {
        try await store.createUser(Fixture.user("alice"))
        let now = Date()
        let file = Fixture.file(1, chunks: [Fixture.chunk(1), Fixture.chunk(2)])
        try await store.record(file)
        try await store.record(Fixture.chunk(3))
        // A session names chunks 1 and 2 (say the client was told they exist and is proving ownership).
        try await store.createUploadSession(Fixture.uploadSession("s1", user: "alice", file: file,
                                                                  expiresAt: now.addingTimeInterval(600)))
        #expect(try await Self.garbage(store, before: everythingIsOld, now: now) == [Fixture.tag(3)])
        #expect(try await store.storedChunks([Fixture.tag(1), Fixture.tag(2)]).count == 2)
        // Once the session has expired it protects nothing.
        #expect(try await Self.garbage(store, before: everythingIsOld, now: now.addingTimeInterval(600))
                == [Fixture.tag(1), Fixture.tag(2)])
    }

    /// Between a pass and `forgetCollected`, a collected chunk cannot be recorded again (an upload
    /// in any process would otherwise record a blob the collector is deleting), and a pass that died
    /// before forgetting hands its tags to the next one.
    private static func garbageCollectionRefusesDoomedChunks(_ store: any MetadataStore) async throws {
        try await store.createUser(Fixture.user("alice"))
        try await store.record(Fixture.chunk(1))
        try await store.record(Fixture.chunk(2))
        let doomed = try await store.collectGarbage(unreferencedBefore: everythingIsOld, now: Date())
        #expect(Set(doomed) == [Fixture.tag(1), Fixture.tag(2)])
        await #expect(throws: MetadataStoreError.collecting(Fixture.tag(1))) { try await store.record(Fixture.chunk(1)) }
        var session = Fixture.uploadSession("s", user: "alice", file: Fixture.file(1, chunks: [Fixture.chunk(2)]),
                                            missing: [Fixture.tag(2)])
        session.received = []
        try await store.createUploadSession(session)
        await #expect(throws: MetadataStoreError.collecting(Fixture.tag(2))) { try await store.recordReceived([Fixture.chunk(2)], session: "s") }
        #expect(try await store.uploadSessionChunks(id: "s", tags: [Fixture.tag(2)])?.chunks[Fixture.tag(2)]?.received == false,
                "nothing recorded")
        // The collector died: the next pass returns the same tags, and only forgetting frees them.
        #expect(Set(try await store.collectGarbage(unreferencedBefore: everythingIsOld, now: Date())) == Set(doomed))
        try await store.forgetCollected(doomed)
        try await store.recordReceived([Fixture.chunk(2)], session: "s")
        #expect(try await store.storedChunks([Fixture.tag(1), Fixture.tag(2)]) == [Fixture.tag(2): 1000])
    }

    /// A chunk whose blob was found missing or corrupt is no longer offered as stored, so the next
    /// upload sends it; recording it again ends that, and files using it meanwhile keep it.
    private static func lostChunksAreOfferedForUpload(_ store: any MetadataStore) async throws {
        try await store.createUser(Fixture.user("alice"))
        let file = Fixture.file(1, chunks: [Fixture.chunk(1), Fixture.chunk(2)])
        try await store.record(file)
        try await store.upload(Fixture.entry(owner: "alice", name: "a", file: file), file: file)
        try await store.markLost([Fixture.tag(1)])
        #expect(try await store.lostChunks() == [Fixture.tag(1)])
        #expect(try await store.storedChunks([Fixture.tag(1), Fixture.tag(2)]) == [Fixture.tag(2): 1000])
        #expect(try await store.file(file.tag) == file, "the file still names it")
        #expect(try await store.allChunks() == [Fixture.chunk(1), Fixture.chunk(2)])
        try await store.record(Fixture.chunk(1))
        #expect(try await store.lostChunks() == [])
        #expect(try await store.storedChunks([Fixture.tag(1)]) == [Fixture.tag(1): 1000])
        #expect(try await Self.garbage(store, before: everythingIsOld, now: Date()) == [], "still referenced")
    }

    private static func garbageCollectionSparesSharedChunks(_ store: any MetadataStore) async throws {
        try await store.createUser(Fixture.user("alice"))
        // Two versions of a photo: same pixels (chunk 1), different metadata (chunks 2 and 3).
        let original = Fixture.file(1, chunks: [Fixture.chunk(2), Fixture.chunk(1)])
        let edited = Fixture.file(2, chunks: [Fixture.chunk(3), Fixture.chunk(1)])
        try await store.record(original)
        try await store.record(edited)
        try await store.upload(Fixture.entry(owner: "alice", name: "original", file: original), file: original)
        try await store.upload(Fixture.entry(owner: "alice", name: "edited", file: edited), file: edited)
        #expect(try await store.deleteEntry(owner: "alice", name: "original", now: Date().addingTimeInterval(-7200)))
        #expect(try await Self.garbage(store, before: Date().addingTimeInterval(-3600), now: Date())
                == [Fixture.tag(2)])
        #expect(try await store.file(edited.tag) == edited)
        #expect(try await store.storedChunks(edited.chunks.map(\.tag)).count == 2)
    }

    // MARK: Grants

    private static func grants(_ store: any MetadataStore) async throws {
        for name in ["alice", "bob", "carol"] { try await store.createUser(Fixture.user(name)) }
        let first = GrantRecord(owner: "alice", grantee: "bob", policy: "family", sealedKey: [1, 2, 3],
                                createdAt: Fixture.epoch)
        try await store.putGrant(first)
        #expect(try await store.grant(owner: "alice", grantee: "bob") == first)
        #expect(try await store.grant(owner: "bob", grantee: "alice") == nil, "grants are directed")

        let replacement = GrantRecord(owner: "alice", grantee: "bob", policy: "family or (friend and 2026)",
                                      sealedKey: [4, 5, 6, 7], createdAt: Fixture.epoch.addingTimeInterval(10))
        try await store.putGrant(replacement)
        #expect(try await store.grant(owner: "alice", grantee: "bob") == replacement)

        let fromCarol = GrantRecord(owner: "carol", grantee: "bob", policy: "work", sealedKey: [8],
                                    createdAt: Fixture.epoch)
        try await store.putGrant(fromCarol)
        try await store.putGrant(GrantRecord(owner: "bob", grantee: "carol", policy: "x", sealedKey: [9], createdAt: Fixture.epoch))
        let bobs = try await store.grants(grantee: "bob")
        #expect(bobs.count == 2)
        #expect(Set(bobs.map(\.owner)) == ["alice", "carol"])
        #expect(bobs.first { $0.owner == "alice" } == replacement)
        #expect(try await store.grants(grantee: "alice") == [])

        #expect(try await store.revokeGrant(owner: "alice", grantee: "bob"))
        #expect(try await store.revokeGrant(owner: "alice", grantee: "bob") == false)
        #expect(try await store.grant(owner: "alice", grantee: "bob") == nil)
        #expect(try await store.grants(grantee: "bob") == [fromCarol])
        #expect(try await store.grants(owner: "bob").map(\.grantee) == ["carol"])
        try await store.createUser(Fixture.user("dave"))
        try await store.putGrant(GrantRecord(owner: "carol", grantee: "dave", policy: "y", sealedKey: [10], createdAt: Fixture.epoch))
        #expect(try await store.grants(owner: "carol").map(\.grantee) == ["bob", "dave"], "issued grants, sorted by grantee")
        #expect(try await store.grants(owner: "alice") == [])
    }

    // MARK: Statistics

    private static func statistics(_ store: any MetadataStore) async throws {
        #expect(try await store.statistics() == StoreStatistics(users: 0, entries: 0, files: 0, chunks: 0,
                                                                 logicalBytes: 0, storedBytes: 0))
        try await store.createUser(Fixture.user("alice"))
        try await store.createUser(Fixture.user("bob"))
        let a = Fixture.file(1, chunks: [Fixture.chunk(1, size: 100), Fixture.chunk(2, size: 200)], manifestSize: 10)
        let b = Fixture.file(2, chunks: [Fixture.chunk(2, size: 200), Fixture.chunk(3, size: 50)], manifestSize: 7)
        try await store.record(a)
        try await store.record(b)
        try await store.record(Fixture.chunk(4, size: 5))  // received, never committed
        try await store.upload(Fixture.entry(owner: "alice", name: "a", file: a, size: 1000), file: a)
        try await store.upload(Fixture.entry(owner: "bob", name: "a", file: a, size: 1000), file: a)
        try await store.upload(Fixture.entry(owner: "alice", name: "b", file: b, size: 300), file: b)
        // Chunks count once however many files use them; manifests once per file.
        #expect(try await store.statistics() == StoreStatistics(users: 2, entries: 3, files: 2, chunks: 4,
                                                                 logicalBytes: 2300, storedBytes: 355 + 17))
        // Per user: entries and charged bytes (each entry charged its file's stored size).
        try await store.createUser(Fixture.user("carol"))
        #expect(try await store.userUsage() == [UserUsage(user: "alice", entries: 2, chargedBytes: 310 + 257),
                                                UserUsage(user: "bob", entries: 1, chargedBytes: 310),
                                                UserUsage(user: "carol", entries: 0, chargedBytes: 0)])
    }

    // MARK: Concurrency

    private static func concurrentCommitsOfOneFile(_ store: any MetadataStore) async throws {
        let uploaders = (0..<20).map { "user\($0)" }
        for name in uploaders { try await store.createUser(Fixture.user(name)) }
        let file = Fixture.file(1, chunks: (0..<8).map { Fixture.chunk($0, size: 100 + $0) } + [Fixture.chunk(0, size: 100)])
        try await store.record(file)
        for name in uploaders {
            try await store.createUploadSession(Fixture.uploadSession("s-\(name)", user: name, file: file))
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for name in uploaders {
                group.addTask {
                    try await store.commit(entry: Fixture.entry(owner: name, name: "same.jpg", file: file, size: 10),
                                           file: file, sessionID: "s-\(name)")
                }
            }
            try await group.waitForAll()
        }
        let statistics = try await store.statistics()
        #expect(statistics.files == 1)
        #expect(statistics.entries == 20)
        #expect(statistics.chunks == 8)
        #expect(statistics.logicalBytes == 200)
        #expect(try await store.file(file.tag) == file)

        // References were counted once: the file survives 19 deletions and goes with the 20th.
        for name in uploaders.dropLast() {
            #expect(try await store.deleteEntry(owner: name, name: "same.jpg", now: Date()))
        }
        #expect(try await store.file(file.tag) == file)
        #expect(try await Self.garbage(store, before: everythingIsOld, now: Date()) == [])
        #expect(try await store.deleteEntry(owner: uploaders.last!, name: "same.jpg", now: Date()))
        #expect(try await store.file(file.tag) == nil)
        #expect(try await Self.garbage(store, before: everythingIsOld, now: Date()).count == 8)
    }

    // MARK: Several servers

    /// Collection passes racing uploads that record chunks (as two nodes would): a chunk is never
    /// both recorded as stored and doomed (its blob deleted), and a refused record changes nothing.
    private static func collectionRacingRecording(_ store: any MetadataStore) async throws {
        try await store.createUser(Fixture.user("alice"))
        for round in 0..<12 {
            let chunk = Fixture.chunk(500 + round)
            try await store.record(chunk)  // recorded earlier, unreferenced: garbage once old
            let file = Fixture.file(500 + round, chunks: [chunk])
            async let collected = store.collectGarbage(unreferencedBefore: everythingIsOld, now: Date())
            async let uploaded: Bool = {
                do {
                    try await store.createUploadSession(Fixture.uploadSession("race-\(round)", user: "alice", file: file,
                                                                              missing: [chunk.tag]))
                    try await store.recordReceived([chunk], session: "race-\(round)")
                    return true
                } catch MetadataStoreError.collecting {
                    return false
                }
            }()
            let doomed = Set(try await collected)
            let recorded = try await uploaded
            let stored = try await store.storedChunks([chunk.tag])
            let stillDoomed = Set(try await store.referenceAudit().doomedChunks)
            if recorded {
                #expect(stored == [chunk.tag: chunk.size], "round \(round): a recorded chunk is stored")
                #expect(!stillDoomed.contains(chunk.tag), "round \(round): recorded and being deleted at once")
            } else {
                #expect(doomed.contains(chunk.tag), "round \(round): refused only while being collected")
            }
            try await store.forgetCollected(Array(doomed))
        }
    }

    /// A second owner's commit of a stored file racing the deletion of its last entry (two nodes,
    /// or two requests on one): the commit succeeds, the file stays whole with its references, and
    /// nothing of it is garbage until the new entry goes too.
    private static func commitRacingLastDeletion(_ store: any MetadataStore) async throws {
        try await store.createUser(Fixture.user("alice"))
        try await store.createUser(Fixture.user("bob"))
        for round in 0..<16 {
            let file = Fixture.file(700 + round, chunks: [Fixture.chunk(700 + round), Fixture.chunk(800 + round)])
            try await store.record(file)
            try await store.upload(Fixture.entry(owner: "alice", name: "a\(round)", file: file), file: file)
            try await store.createUploadSession(Fixture.uploadSession("late-\(round)", user: "bob", file: file))
            async let deleted = store.deleteEntry(owner: "alice", name: "a\(round)", now: Date())
            async let committed: Void = store.commit(entry: Fixture.entry(owner: "bob", name: "b\(round)", file: file),
                                                     file: file, sessionID: "late-\(round)")
            #expect(try await deleted)
            try await committed
            #expect(try await store.file(file.tag) == file, "round \(round): the file survives under bob's entry")
            #expect(try await Self.garbage(store, before: everythingIsOld, now: Date()).isDisjoint(with: file.chunks.map(\.tag)),
                    "round \(round): bob's entry references its chunks")
            #expect(try await store.deleteEntry(owner: "bob", name: "b\(round)", now: Date()))
            #expect(try await store.file(file.tag) == nil, "round \(round): the last entry takes the file")
        }
    }

    /// A commit past the owner's quota is refused whole; every entry of a shared file is charged
    /// its full stored size.
    private static func quota(_ store: any MetadataStore) async throws {
        try await store.createUser(Fixture.user("alice"))
        let file = Fixture.file(1, chunks: [Fixture.chunk(1, size: 400), Fixture.chunk(2, size: 500)], manifestSize: 100)
        try await store.record(file)
        try await store.createUploadSession(Fixture.uploadSession("q1", user: "alice", file: file))
        try await store.commit([(Fixture.entry(owner: "alice", name: "a", file: file), file)], sessionID: "q1", quota: 1000)
        try await store.createUploadSession(Fixture.uploadSession("q2", user: "alice", file: file))
        await #expect(throws: MetadataStoreError.quotaExceeded(used: 2000, quota: 1999)) {
            try await store.commit([(Fixture.entry(owner: "alice", name: "b", file: file), file)], sessionID: "q2", quota: 1999)
        }
        #expect(try await store.entry(owner: "alice", name: "b") == nil)
        #expect(try await store.uploadSession(id: "q2") != nil, "a refused commit keeps its session")
        try await store.commit([(Fixture.entry(owner: "alice", name: "b", file: file), file)], sessionID: "q2", quota: 2000)
    }

    /// A commit that replaces entries swaps them in its own transaction: the old entry goes (with its
    /// file, when no other entry holds it) only if the commit succeeds, and only while the entry
    /// still names the file the caller read; a refused commit changes nothing.
    private static func commitReplacesEntries(_ store: any MetadataStore) async throws {
        try await store.createUser(Fixture.user("alice"))
        let old = Fixture.file(1, chunks: [Fixture.chunk(1), Fixture.chunk(2)])
        let new = Fixture.file(2, chunks: [Fixture.chunk(2), Fixture.chunk(3)])
        let other = Fixture.file(3, chunks: [Fixture.chunk(4)])
        for file in [old, new, other] { try await store.record(file) }
        try await store.upload(Fixture.entry(owner: "alice", name: "a", file: old), file: old)
        let replacement = Fixture.entry(owner: "alice", name: "a", file: new)

        // The entry names another file than the caller read: refused, nothing changes.
        try await store.createUploadSession(Fixture.uploadSession("stale", user: "alice", file: new))
        await #expect(throws: MetadataStoreError.conflict(.entry(owner: "alice", name: "a"))) {
            try await store.commit([(replacement, new)], sessionID: "stale", quota: nil, replacing: ["a": other.tag], now: Date())
        }
        // The entry is gone: refused, nothing changes.
        await #expect(throws: MetadataStoreError.notFound(.entry(owner: "alice", name: "gone"))) {
            try await store.commit([(replacement, new)], sessionID: "stale", quota: nil, replacing: ["gone": old.tag], now: Date())
        }
        // A commit refused for another reason (the quota) after the replacement keeps the old entry.
        await #expect(throws: MetadataStoreError.quotaExceeded(used: new.storedSize, quota: 1)) {
            try await store.commit([(replacement, new)], sessionID: "stale", quota: 1, replacing: ["a": old.tag], now: Date())
        }
        #expect(try await store.entry(owner: "alice", name: "a")?.fileTag == old.tag)
        #expect(try await store.file(old.tag) == old)
        #expect(try await store.file(new.tag) == nil)
        #expect(try await store.uploadSession(id: "stale") != nil, "a refused commit keeps its session")
        // Without `replacing`, the name is taken.
        await #expect(throws: MetadataStoreError.conflict(.entry(owner: "alice", name: "a"))) {
            try await store.commit([(replacement, new)], sessionID: "stale")
        }

        try await store.commit([(replacement, new)], sessionID: "stale", quota: new.storedSize, replacing: ["a": old.tag], now: Date())
        #expect(try await store.entry(owner: "alice", name: "a") == replacement)
        #expect(try await store.file(old.tag) == nil, "no entry holds the old file any more")
        #expect(try await store.file(new.tag) == new)
        // Chunk 1 was the old file's alone; chunk 2 moved to the new file; chunk 4 never had a file.
        #expect(try await Self.garbage(store, before: everythingIsOld, now: Date()) == [Fixture.tag(1), Fixture.tag(4)])
        #expect(try await store.statistics().entries == 1)

        // Replacing an entry by one of the file it holds keeps the file and its chunks.
        try await store.createUploadSession(Fixture.uploadSession("same", user: "alice", file: new))
        try await store.commit([(replacement, new)], sessionID: "same", quota: nil, replacing: ["a": new.tag], now: Date())
        #expect(try await store.file(new.tag) == new)
        #expect(try await Self.garbage(store, before: everythingIsOld, now: Date()) == [])
    }

    /// Live sessions per user are capped; expired ones make room, and other users are unaffected.
    private static func sessionLimit(_ store: any MetadataStore) async throws {
        try await store.createUser(Fixture.user("alice"))
        try await store.createUser(Fixture.user("bob"))
        let file = Fixture.file(1, chunks: [Fixture.chunk(1)])
        let now = Date()
        try await store.createUploadSession(Fixture.uploadSession("old", user: "alice", file: file, expiresAt: now.addingTimeInterval(-1)),
                                            maximumLive: 2, now: now.addingTimeInterval(-10))
        for id in ["a1", "a2"] {
            try await store.createUploadSession(Fixture.uploadSession(id, user: "alice", file: file), maximumLive: 2, now: now)
        }
        await #expect(throws: MetadataStoreError.tooManyUploadSessions(user: "alice", live: 2)) {
            try await store.createUploadSession(Fixture.uploadSession("a3", user: "alice", file: file), maximumLive: 2, now: now)
        }
        try await store.createUploadSession(Fixture.uploadSession("b1", user: "bob", file: file), maximumLive: 2, now: now)
        #expect(try await store.uploadSession(id: "old") == nil, "expired sessions are forgotten")
        await #expect(throws: MetadataStoreError.notFound(.user("carol"))) {
            try await store.createUploadSession(Fixture.uploadSession("c1", user: "carol", file: file))
        }
    }
}
