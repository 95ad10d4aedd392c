import Convergent
import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import KPABE
import Testing
@testable import TwinClient
import TwinProtocol
@testable import TwinServer
import Logging
import TwinStorage

/// The stores the end-to-end suites run on, chosen by `TWIN_TEST_STORAGE`: `sqlite` (the default:
/// SQLite and a blob folder), `memory`, or `postgres-rgw` (a fresh schema of `TWIN_PG_URL` and a
/// fresh bucket at `S3_ENDPOINT`). tools/test.sh runs the server suites on each.
enum TestStorage: String, Sendable {
    case sqliteAndFolder = "sqlite"
    case memory
    case postgresAndRGW = "postgres-rgw"

    static var current: TestStorage {
        let name = ProcessInfo.processInfo.environment["TWIN_TEST_STORAGE"] ?? "sqlite"
        guard let kind = TestStorage(rawValue: name) else { fatalError("TWIN_TEST_STORAGE is sqlite, memory or postgres-rgw, not \(name)") }
        return kind
    }

    func locations(in directory: URL) throws -> (metadata: String, blobs: String) {
        switch self {
        case .sqliteAndFolder:
            return ("sqlite:" + directory.appendingPathComponent("metadata.sqlite").path, "file:" + directory.appendingPathComponent("blobs").path)
        case .memory:
            return ("memory:", "memory:")
        case .postgresAndRGW:
            let environment = ProcessInfo.processInfo.environment
            guard let postgres = environment["TWIN_PG_URL"], let s3 = environment["S3_ENDPOINT"] else {
                throw TestStorageMissing()
            }
            let unique = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(12)
            return ("\(postgres)?schema=e2e_\(unique)", "s3:\(s3)/twin-e2e-\(unique)")
        }
    }
}

struct TestStorageMissing: Error, CustomStringConvertible {
    var description: String { "TWIN_TEST_STORAGE=postgres-rgw needs TWIN_PG_URL and S3_ENDPOINT (tools/services.sh)" }
}

/// A live server on a free loopback port over fresh stores (`TestStorage.current`), with clients
/// that talk to it over real HTTP, as `twin` does.
struct LiveServer {
    let directory: URL
    let storage: TestStorage
    let store: any MetadataStore
    let blobs: BlobStore
    let port: Int

    var url: String { "http://127.0.0.1:\(port)" }

    static func run(configure: (inout ServerConfiguration) -> Void = { _ in },
                    _ test: @Sendable (LiveServer) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("twin-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let kind = TestStorage.current
        let locations = try kind.locations(in: directory)
        let storage = try await Storage.open(metadata: locations.metadata, blobs: locations.blobs, createBucket: true,
                                             logger: Logger(label: "test.storage"))
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.logLevel = .warning
        configure(&configuration)
        let app = buildApplication(configuration: configuration, store: storage.metadata, blobs: storage.blobs)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for service in storage.services { group.addTask { try await service.run() } }
            defer { group.cancelAll() }
            try await storage.prepare()
            try await app.test(.live) { client in
                try await test(LiveServer(directory: directory, storage: kind, store: storage.metadata, blobs: storage.blobs,
                                          port: client.port!))
            }
        }
        try await storage.close()
    }

    func user(_ name: String) async throws -> TwinSession {
        try await TwinSession.register(Keyring.generate(user: name, server: url))
    }

    /// Writes `bytes` to a file in the test folder and returns its path.
    func file(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = directory.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func read(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }

    func blobCount() async throws -> Int { try await blobs.allTags().count }

    /// Flips one byte in the middle of `tag`'s blob in the backend, behind the server's back (bit rot).
    func corruptBlob(_ tag: Convergent.Tag) async throws {
        var stored = try #require(try await blobs.backend.get(tag))
        stored[stored.count / 2] ^= 1
        try await blobs.backend.put(tag, stored)
    }

    /// Downloads `name` as `user` sees it (own entries when `owner` is nil) and returns its bytes.
    func download(_ user: TwinSession, owner: String? = nil, _ name: String) async throws -> [UInt8] {
        let out = directory.appendingPathComponent("download-\(UUID().uuidString)").path
        _ = try await user.get(owner: owner, name: name, destination: out)
        defer { try? FileManager.default.removeItem(atPath: out) }
        return try read(out)
    }
}

/// A JPEG-structured image (markers, EXIF, scan) with deterministic content.
func jpegImage(seed: String, exif: String, scanBytes: Int = 600_000) -> [UInt8] {
    func stream(_ label: String, _ count: Int) -> [UInt8] {
        var out: [UInt8] = [], counter: UInt64 = 0
        while out.count < count {
            out += Array(SHA256.hash(data: Array("\(label)-\(counter)".utf8)))
            counter += 1
        }
        return Array(out.prefix(count))
    }
    var out: [UInt8] = [0xFF, 0xD8]
    let exifPayload = Array("Exif\0\0MM\0*".utf8) + Array(exif.utf8) + stream("exif-\(exif)", 2000)
    out += [0xFF, 0xE1, UInt8((exifPayload.count + 2) >> 8), UInt8((exifPayload.count + 2) & 0xFF)] + exifPayload
    out += [0xFF, 0xDB, 0, 67, 0] + stream("dqt", 64)
    out += [0xFF, 0xDA, 0, 12, 3, 1, 0, 2, 0x11, 3, 0x11, 0, 0x3F, 0]
    for byte in stream("scan-\(seed)", scanBytes) {
        out.append(byte)
        if byte == 0xFF { out.append(0) }
    }
    return out + [0xFF, 0xD9]
}

@Suite("End to end: twin serve with real clients", .serialized)
struct EndToEndTests {
    @Test("two users upload the same image: one set of blobs, two entries, the second sends almost nothing")
    func sameImageTwice() async throws {
        try await LiveServer.run { server in
            let alice = try await server.user("alice"), bob = try await server.user("bob")
            let image = try server.file("photo.jpg", jpegImage(seed: "a", exif: "camera"))
            let first = try await alice.upload(path: image, name: "photo.jpg", attributes: ["family"])
            let blobsAfterFirst = try await server.blobCount()
            let second = try await bob.upload(path: image, name: "mine.jpg", attributes: [])
            #expect(try await server.blobCount() == blobsAfterFirst)
            #expect(first.sentBytes > first.logicalBytes)
            #expect(second.fileExisted)
            #expect(second.deduplicatedBytes == second.logicalBytes)
            // No chunk data: only the proof of ownership, the manifest and the wrapped keys.
            #expect(second.sentBytes - second.proofBytes < 4096)
            #expect(second.proofBytes > 0, "another user's copy must be proven")
            // Alice sharing her own photo again proves nothing new: her entry already holds the chunks.
            let again = try await alice.upload(path: image, name: "again.jpg", attributes: [])
            #expect(again.fileExisted && again.proofBytes == 0)
            #expect(again.sentBytes < 4096)
            let stats = try await alice.stats()
            #expect(stats.entries == 3 && stats.files == 1)
            #expect(stats.logicalBytes == 3 * first.logicalBytes)
            #expect(stats.storedBytes < first.logicalBytes + first.logicalBytes / 50)
        }
    }

    @Test("a metadata-edited copy sends only its new chunks")
    func editedCopy() async throws {
        try await LiveServer.run { server in
            let alice = try await server.user("alice"), bob = try await server.user("bob")
            let original = try server.file("a.jpg", jpegImage(seed: "b", exif: "camera"))
            let edited = try server.file("b.jpg", jpegImage(seed: "b", exif: "artist=bob, edited"))
            _ = try await alice.upload(path: original, name: "a.jpg", attributes: [])
            let copy = try await bob.upload(path: edited, name: "b.jpg", attributes: [])
            #expect(!copy.fileExisted)
            #expect(copy.logicalBytes - copy.deduplicatedBytes < 4096, "re-sent \(copy.logicalBytes - copy.deduplicatedBytes) bytes")
            #expect(copy.sentBytes - copy.proofBytes < 8192)
        }
    }

    @Test("knowing the tags is not enough: no proof, a wrong proof and a replayed proof are refused")
    func tagsAloneCannotClaim() async throws {
        try await LiveServer.run { server in
            let alice = try await server.user("alice"), mallory = try await server.user("mallory")
            let bytes = jpegImage(seed: "c", exif: "secret")
            let image = try server.file("c.jpg", bytes)
            _ = try await alice.upload(path: image, name: "c.jpg", attributes: [])
            // Mallory learned the tags (say, from a leaked index) but not the content.
            let encoded = try await ConvergentEncoder().encode(MemoryByteSource(bytes))
            var sizes: [Digest32: Int] = [:]
            _ = try await ConvergentEncoder().encode(MemoryByteSource(bytes)) { sizes[$0.tag] = $0.ciphertext.count }
            let announce = BeginUploadRequest(fileTag: encoded.fileTag, chunks: encoded.chunkTags.map { ChunkReference(tag: $0, size: sizes[$0]!) })
            let commit = CommitRequest(entries: [try mallory.entryCommit(name: "stolen.jpg", encoded: encoded, attributes: [],
                                                                         attributeWrappedKey: [])])
            let api = mallory.api

            let noProof = try await api.beginUpload(announce)
            #expect(noProof.challenge != nil && noProof.missing.isEmpty)
            await expectCode("proof_required") { _ = try await api.commit(session: noProof.id, commit) }

            let wrong = try await api.beginUpload(announce)
            let challenge = wrong.challenge!
            let forged = OwnershipProof(challengeID: challenge.id, openings: challenge.leaves.map { leaf in
                OwnershipProof.Opening(reference: LeafReference(chunk: leaf.chunk, leaf: leaf.leaf),
                                       piece: [UInt8](repeating: 0, count: 64), path: [])
            })
            await expectCode("proof_invalid") { try await api.proveOwnership(session: wrong.id, forged.encoded()) }
            await expectCode("proof_required") { _ = try await api.commit(session: wrong.id, commit) }

            // A valid proof (from the real owner's data) works once; replaying it is refused.
            let honest = try await api.beginUpload(announce)
            var ciphertexts: [[UInt8]] = []
            _ = try await ConvergentEncoder().encode(MemoryByteSource(bytes)) { ciphertexts.append($0.ciphertext) }
            let descriptor = honest.challenge!
            let proof = try await OwnershipProof.answer(OwnershipChallenge(
                id: descriptor.id, session: honest.id, leaves: descriptor.leaves.map { LeafReference(chunk: $0.chunk, leaf: $0.leaf) },
                expiresAt: descriptor.expiresAt)) { ciphertexts[$0] }.encoded()
            try await api.proveOwnership(session: honest.id, proof)
            await expectCode("proof_invalid") { try await api.proveOwnership(session: honest.id, proof) }
            let replay = try await api.beginUpload(announce)
            await expectCode("proof_invalid") { try await api.proveOwnership(session: replay.id, proof) }
            #expect(try await mallory.entries().isEmpty)
        }
    }

    @Test("a batch: one session for several files, shared chunks sent once, every entry committed or none")
    func batchedUpload() async throws {
        try await LiveServer.run { server in
            let alice = try await server.user("alice"), bob = try await server.user("bob")
            let original = jpegImage(seed: "batch", exif: "camera"), edited = jpegImage(seed: "batch", exif: "edited by alice")
            let batch = [try await alice.prepare(path: try server.file("o.jpg", original), name: "o.jpg"),
                         try await alice.prepare(path: try server.file("e.jpg", edited), name: "e.jpg"),
                         try await alice.prepare(path: try server.file("o.jpg", original), name: "copy.jpg")]
            let results = try await alice.send(batch, attributes: ["family"])
            #expect(results.map(\.name) == ["o.jpg", "e.jpg", "copy.jpg"])
            #expect(results.map(\.logicalBytes) == [original.count, edited.count, original.count])
            // The scan the three share went up once; the proof of ownership was not needed at all.
            #expect(results.reduce(0) { $0 + $1.sentBytes } < original.count + 16 << 10)
            #expect(results.allSatisfy { $0.proofBytes == 0 && !$0.fileExisted })
            // The copy's chunks went up once, with the original: all of it counts as deduplicated.
            #expect(results[2].deduplicatedBytes == results[2].logicalBytes && results[0].deduplicatedBytes == 0)
            #expect(results[1].logicalBytes - results[1].deduplicatedBytes < 16 << 10, "the edit shares the scan")
            let stats = try await alice.stats()
            #expect(stats.entries == 3 && stats.files == 2)
            #expect(try await server.blobCount() == stats.chunks)
            for (name, bytes) in [("o.jpg", original), ("e.jpg", edited), ("copy.jpg", original)] {
                let out = server.directory.appendingPathComponent("batch-\(name)").path
                _ = try await alice.get(owner: nil, name: name, destination: out)
                #expect(try server.read(out) == bytes)
            }

            // Bob's batch names two entries alike: refused whole, no entry is added.
            let clash = [try await bob.prepare(path: try server.file("n.jpg", jpegImage(seed: "bob", exif: "n")), name: "same.jpg"),
                         try await bob.prepare(path: try server.file("e.jpg", edited), name: "same.jpg")]
            await expectCode("conflict") { _ = try await bob.send(clash, attributes: []) }
            #expect(try await bob.entries().isEmpty)
            #expect(try await alice.stats().entries == 3)
        }
    }

    @Test("a run in small batches reports every file once, in order; an unreadable file stops it with its error")
    func pipelinedBatches() async throws {
        try await LiveServer.run { server in
            let alice = try await server.user("alice")
            var items: [TwinSession.UploadItem] = []
            for index in 0..<7 {
                // Every third file repeats the first: later batches prove it rather than send it.
                let bytes = jpegImage(seed: index % 3 == 0 ? "p0" : "p\(index)", exif: "n\(index)", scanBytes: 150_000)
                items.append(.init(path: try server.file("p\(index).jpg", bytes), name: "p\(index).jpg"))
            }
            let batching = UploadBatching(maximumFiles: 2, maximumBytes: 1 << 20, lookahead: 2)
            var reported: [TwinSession.UploadResult] = []
            try await alice.upload(items, attributes: [], width: 3, batching: batching) { reported.append($0) }
            #expect(reported.map(\.name) == items.map(\.name))
            #expect(try await alice.entries().count == 7)
            // A batch is announced while the previous one commits; what alice sent in an earlier
            // batch is stored already: the shared scan chunks of p0, p3 and p6 go up once, with
            // whichever of them is batched first (files encode three at a time, so a slow p0 may
            // follow p3), and the others are challenged or found in their own batch.
            let repeats = reported.filter { ["p0.jpg", "p3.jpg", "p6.jpg"].contains($0.name) }
            #expect(repeats.count == 3 && repeats.filter { $0.sentBytes - $0.proofBytes >= 8192 }.count == 1)

            var broken = items.map { TwinSession.UploadItem(path: $0.path, name: "again-" + $0.name) }
            broken[4].path = server.directory.appendingPathComponent("absent.jpg").path
            var seen = 0
            await #expect(throws: (any Error).self) {
                try await alice.upload(broken, attributes: [], width: 3, batching: batching) { _ in seen += 1 }
            }
            #expect(seen <= 4)
        }
    }

    @Test("a batch of another user's images is proven in one proof of over a thousand leaves and 4 MiB")
    func largestProof() async throws {
        try await LiveServer.run { server in
            let alice = try await server.user("alice"), bob = try await server.user("bob")
            var paths: [String] = []
            for index in 0..<20 {
                paths.append(try server.file("l\(index).jpg", jpegImage(seed: "large-\(index)", exif: "x", scanBytes: 300_000)))
            }
            for path in paths { _ = try await alice.upload(path: path, name: (path as NSString).lastPathComponent, attributes: []) }
            var batch: [TwinSession.PreparedUpload] = []
            for path in paths { batch.append(try await bob.prepare(path: path, name: (path as NSString).lastPathComponent)) }
            let results = try await bob.send(batch, attributes: [])
            let proof = results.reduce(0) { $0 + $1.proofBytes }
            #expect(proof > 4 << 20, "\(batch.count) files × \(OwnershipPolicy.standard.leafCount) leaves of 4 KiB")
            #expect(try await bob.entries().count == batch.count)
        }
    }

    @Test("in a batch, every claimed file is challenged on its own: holding one proves nothing about another")
    func batchChallengesEachFile() async throws {
        try await LiveServer.run { server in
            let alice = try await server.user("alice"), mallory = try await server.user("mallory")
            let held = jpegImage(seed: "public", exif: "meme", scanBytes: 2_000_000)
            let secret = jpegImage(seed: "private", exif: "secret", scanBytes: 400_000)
            _ = try await alice.upload(path: try server.file("held.jpg", held), name: "held.jpg", attributes: [])
            _ = try await alice.upload(path: try server.file("secret.jpg", secret), name: "secret.jpg", attributes: [])
            // Mallory holds the popular image; of the secret one she knows only the tags.
            let mine = try await mallory.prepare(path: try server.file("m.jpg", held), name: "m.jpg")
            var secretChunks: [(tag: Digest32, size: Int)] = []
            let secretEncoded = try await ConvergentEncoder().encode(MemoryByteSource(secret)) {
                secretChunks.append(($0.tag, $0.ciphertext.count))
            }
            let begin = try await mallory.api.beginUpload(BeginUploadRequest(files: [
                FileAnnouncement(fileTag: mine.encoded.fileTag, chunks: mine.chunks.map { ChunkReference(tag: $0.tag, size: $0.count) }),
                FileAnnouncement(fileTag: secretEncoded.fileTag, chunks: secretChunks.map { ChunkReference(tag: $0.tag, size: $0.size) }),
            ]))
            #expect(begin.fileExists == [true, true] && begin.missing.isEmpty)
            let descriptor = try #require(begin.challenge)
            let leafCount = OwnershipPolicy.standard.leafCount
            // Each file gets the policy's leaves, and every chunk of each at least one.
            #expect(descriptor.leaves.filter { $0.chunk < mine.chunks.count }.count >= leafCount)
            #expect(descriptor.leaves.filter { $0.chunk >= mine.chunks.count }.count >= leafCount)
            #expect(Set(descriptor.leaves.map(\.chunk)) == Set(0..<(mine.chunks.count + secretChunks.count)))
            // One tag announced twice must name one content: the second list would escape the
            // challenge (a tag is challenged once), so a batch doing so is refused; so is a chunk
            // announced with two sizes.
            // (A tag nothing is stored under: a stored file's chunk list is checked anyway.)
            let unused = Convergent.Tag(bytes: (0..<32).map { _ in UInt8.random(in: 0...255) })!
            let mineAnnounced = FileAnnouncement(fileTag: unused, chunks: mine.chunks.map { ChunkReference(tag: $0.tag, size: $0.count) })
            let smuggled = FileAnnouncement(fileTag: unused, chunks: secretChunks.map { ChunkReference(tag: $0.tag, size: $0.size) })
            await expectCode("unprocessable") { _ = try await mallory.api.beginUpload(BeginUploadRequest(files: [mineAnnounced, smuggled])) }
            var resized = mineAnnounced
            resized.fileTag = secretEncoded.fileTag
            resized.chunks[0].size += 16
            await expectCode("unprocessable") { _ = try await mallory.api.beginUpload(BeginUploadRequest(files: [mineAnnounced, resized])) }

            // She answers her own file's leaves truly and guesses the secret's.
            let challenge = OwnershipChallenge(id: descriptor.id, session: begin.id,
                                               leaves: descriptor.leaves.map { LeafReference(chunk: $0.chunk, leaf: $0.leaf) },
                                               expiresAt: descriptor.expiresAt)
            let proof = try await OwnershipProof.answer(challenge) { position in
                position < mine.chunks.count ? mine.chunks[position]
                    : HashedCiphertext([UInt8](repeating: 0, count: secretChunks[position - mine.chunks.count].size))
            }
            await expectCode("proof_invalid") { try await mallory.api.proveOwnership(session: begin.id, proof.encoded()) }
            #expect(try await mallory.entries().isEmpty)

            // The image she holds, under two names in one batch: one content, challenged once.
            let twice = [mine, try await mallory.prepare(path: try server.file("m2.jpg", held), name: "m2.jpg")]
            let again = try await mallory.api.beginUpload(BeginUploadRequest(files: twice.map { prepared in
                FileAnnouncement(fileTag: prepared.encoded.fileTag, chunks: prepared.chunks.map { ChunkReference(tag: $0.tag, size: $0.count) })
            }))
            let leaves = try #require(again.challenge).leaves
            #expect(leaves.count >= leafCount && leaves.allSatisfy { $0.chunk < mine.chunks.count })
            let results = try await mallory.send(twice, attributes: [])
            #expect(results.map(\.fileExisted) == [true, true])
            #expect(results[0].proofBytes > 0 && results[1].proofBytes == 0)
            #expect(try await mallory.entries().map(\.name) == ["m.jpg", "m2.jpg"])
        }
    }

    @Test("the next command reuses the saved bearer token, and logs in again when the server refuses it")
    func savedToken() async throws {
        try await LiveServer.run { server in
            let home = server.directory.appendingPathComponent("home-alice")
            try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
            let cache = TokenCache(directory: home)
            let keyring = Keyring.generate(user: "alice", server: server.url)
            let first = try await TwinSession.register(keyring, tokenCache: cache)
            let saved = try #require(cache.load(user: "alice", server: server.url))
            #expect(saved.token == first.api.token)
            let mode = try FileManager.default.attributesOfItem(atPath: cache.file.path)[.posixPermissions] as? Int
            #expect(mode == 0o600)
            let second = try await TwinSession(keyring: first.keyring, tokenCache: cache, knownKeys: KnownKeys(file: nil))
            #expect(second.api.token == saved.token, "no second login")
            _ = try await second.stats()
            #expect(cache.load(user: "bob", server: server.url) == nil)
            #expect(cache.load(user: "alice", server: "http://127.0.0.1:1") == nil)
            #expect(cache.load(user: "alice", server: server.url, now: saved.expiresAt.addingTimeInterval(-30)) == nil)

            // A token the server does not know: the command logs in again, goes on, and saves the new token.
            cache.save(.init(user: "alice", server: server.url, token: "forgotten", expiresAt: Date().addingTimeInterval(3600)))
            let third = try await TwinSession(keyring: first.keyring, tokenCache: cache, knownKeys: KnownKeys(file: nil))
            #expect(third.api.token == "forgotten")
            #expect(try await third.stats().users == 1)
            #expect(third.api.token != "forgotten")
            #expect(cache.load(user: "alice", server: server.url)?.token == third.api.token)

            // Requests refused together share one new login, and none of them fails.
            cache.save(.init(user: "alice", server: server.url, token: "forgotten", expiresAt: Date().addingTimeInterval(3600)))
            let fourth = try await TwinSession(keyring: first.keyring, tokenCache: cache, knownKeys: KnownKeys(file: nil))
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<8 { group.addTask { try await fourth.stats().users } }
                for try await users in group { #expect(users == 1) }
            }
            #expect(fourth.api.token != "forgotten")
        }
    }

    @Test("a chunk that does not hash to its tag is refused and nothing is stored")
    func tagMismatch() async throws {
        try await LiveServer.run { server in
            let mallory = try await server.user("mallory")
            let bytes = jpegImage(seed: "d", exif: "x")
            var chunks: [(Digest32, [UInt8])] = []
            let encoded = try await ConvergentEncoder().encode(MemoryByteSource(bytes)) { chunks.append(($0.tag, $0.ciphertext)) }
            let begin = try await mallory.api.beginUpload(BeginUploadRequest(
                fileTag: encoded.fileTag, chunks: chunks.map { ChunkReference(tag: $0.0, size: $0.1.count) }))
            var planted = chunks[1].1
            planted[100] ^= 0x55
            await expectCode("tag_mismatch") { try await mallory.api.putChunk(session: begin.id, tag: chunks[1].0.hex, HashedCiphertext(planted)) }
            #expect(try await server.blobCount() == 0)
            #expect(try await server.store.storedChunks([chunks[1].0]).isEmpty)
            let stats = try await mallory.stats()
            #expect(stats.chunks == 0 && stats.storedBytes == 0)
        }
    }

    @Test("a chunk bundle is checked whole: one bad, unrequested or cut-off chunk stores nothing")
    func bundleChecks() async throws {
        try await LiveServer.run { server in
            let mallory = try await server.user("mallory")
            let bytes = jpegImage(seed: "bundle", exif: "x")
            var chunks: [HashedCiphertext] = []
            let encoded = try await ConvergentEncoder().encode(MemoryByteSource(bytes)) { chunks.append(HashedCiphertext($0.ciphertext)) }
            #expect(chunks.count >= 3)
            let begin = try await mallory.api.beginUpload(BeginUploadRequest(
                fileTag: encoded.fileTag, chunks: chunks.map { ChunkReference(tag: $0.tag, size: $0.count) }))
            let path = "/v1/uploads/\(begin.id)/chunks"
            func record(_ tag: Convergent.Tag, _ ciphertext: [UInt8]) -> [UInt8] { ChunkBundle.header(tag: tag, length: ciphertext.count) + ciphertext }
            var planted = chunks[1].bytes
            planted[planted.count / 2] ^= 0x55
            let tampered = record(chunks[0].tag, chunks[0].bytes) + record(chunks[1].tag, planted)
            await expectCode("tag_mismatch") { _ = try await mallory.api.send(.POST, path, body: tampered, contentType: "application/octet-stream") }
            let foreign = Convergent.Tag(bytes: [UInt8](repeating: 7, count: 32))!
            let unrequested = record(chunks[0].tag, chunks[0].bytes) + record(foreign, chunks[2].bytes)
            await expectCode("unexpected_chunk") { _ = try await mallory.api.send(.POST, path, body: unrequested, contentType: "application/octet-stream") }
            let twice = record(chunks[0].tag, chunks[0].bytes) + record(chunks[0].tag, chunks[0].bytes)
            await expectCode("unexpected_chunk") { _ = try await mallory.api.send(.POST, path, body: twice, contentType: "application/octet-stream") }
            let cut = Array(record(chunks[0].tag, chunks[0].bytes).dropLast())
            await expectCode("unprocessable") { _ = try await mallory.api.send(.POST, path, body: cut, contentType: "application/octet-stream") }
            await expectCode("unprocessable") { _ = try await mallory.api.send(.POST, path, body: [], contentType: "application/octet-stream") }
            let tooMany = (0...UploadController.maximumBundleRecords).flatMap { _ in record(chunks[0].tag, [UInt8](repeating: 0, count: 16)) }
            await expectCode("unprocessable") { _ = try await mallory.api.send(.POST, path, body: tooMany, contentType: "application/octet-stream") }
            let oversized = [UInt8](repeating: 0, count: UploadController.maximumBundle + 1)
            await expectCode("payload_too_large") {
                _ = try await mallory.api.send(.POST, path, body: oversized, contentType: "application/octet-stream")
            }
            #expect(try await server.blobCount() == 0)
            #expect(try await server.store.storedChunks(chunks.map(\.tag)).isEmpty)

            // The honest bundle goes through, and sending it again changes nothing.
            try await mallory.api.postChunks(session: begin.id, chunks)
            try await mallory.api.postChunks(session: begin.id, Array(chunks.prefix(1)))
            #expect(try await server.blobCount() == Set(chunks.map(\.tag)).count)
            #expect(try await server.store.uploadSession(id: begin.id)?.received == Set(chunks.map(\.tag)))
        }
    }

    @Test("sharing: no grant → refused with no ciphertext; satisfied policy → identical bytes; unsatisfied or revoked → refused")
    func sharing() async throws {
        try await LiveServer.run { server in
            var alice = try await server.user("alice")
            let bob = try await server.user("bob"), carol = try await server.user("carol")
            let bytes = jpegImage(seed: "e", exif: "holiday")
            _ = try await alice.upload(path: try server.file("e.jpg", bytes), name: "holiday.jpg", attributes: ["friend", "vacation"])
            // A second image of the same run and attributes: its key is wrapped under the same capsule.
            let beach = jpegImage(seed: "e2", exif: "beach")
            _ = try await alice.upload(path: try server.file("e2.jpg", beach), name: "beach.jpg", attributes: ["vacation", "friend"])
            let wrapped = try await alice.entries().map { try WrappedKey(decoding: Array($0.attributeWrappedKey)) }
            #expect(wrapped.count == 2 && wrapped[0].capsule == wrapped[1].capsule)
            let out = server.directory.appendingPathComponent("out.jpg").path

            await expectAccessDenied { _ = try await bob.get(owner: "alice", name: "holiday.jpg", destination: out) }
            await expectCode("access_denied") { _ = try await bob.api.chunk(owner: "alice", name: "holiday.jpg", tag: String(repeating: "0", count: 64)) }
            #expect(!FileManager.default.fileExists(atPath: out))

            try await alice.grant("bob", policy: "family or (friend and vacation)")
            try await alice.grant("carol", policy: "family")
            #expect(try await bob.shared().map(\.name) == ["beach.jpg", "holiday.jpg"])
            #expect(try await carol.shared().isEmpty)
            _ = try await bob.get(owner: "alice", name: "holiday.jpg", destination: out)
            #expect(try server.read(out) == bytes)
            _ = try await bob.get(owner: "alice", name: "beach.jpg", destination: out + ".beach")
            #expect(try server.read(out + ".beach") == beach)
            await expectAccessDenied { _ = try await carol.get(owner: "alice", name: "holiday.jpg", destination: out + ".carol") }
            #expect(!FileManager.default.fileExists(atPath: out + ".carol"))

            _ = try await alice.revoke("bob") { _ in }
            await expectAccessDenied { _ = try await bob.get(owner: "alice", name: "holiday.jpg", destination: out + ".late") }
            #expect(!FileManager.default.fileExists(atPath: out + ".late"))
            // The owner still reads their own image.
            _ = try await alice.get(owner: nil, name: "holiday.jpg", destination: out + ".own")
            #expect(try server.read(out + ".own") == bytes)
        }
    }

    @Test("the server refuses a wrapped key under other attributes or for another authority, cached capsule or not")
    func wrappedKeyChecks() async throws {
        try await LiveServer.run { server in
            let alice = try await server.user("alice"), mallory = try await server.user("mallory")
            _ = try await alice.upload(path: try server.file("a.jpg", jpegImage(seed: "w1", exif: "a")), name: "a.jpg",
                                       attributes: ["family"])
            let alicesCapsule = try await alice.entries()[0].attributeWrappedKey  // now remembered by the server
            let prepared = try await mallory.prepare(path: try server.file("m.jpg", jpegImage(seed: "w2", exif: "m")), name: "m.jpg")
            let encoded = prepared.encoded
            let begin = try await mallory.api.beginUpload(BeginUploadRequest(
                fileTag: encoded.fileTag, chunks: prepared.chunks.map { ChunkReference(tag: $0.tag, size: $0.count) }))
            for chunk in prepared.chunks where begin.missing.contains(chunk.tag) {
                try await mallory.api.putChunk(session: begin.id, tag: chunk.tag.hex, chunk)
            }
            if let descriptor = begin.challenge {  // the two images share their JPEG headers
                let challenge = OwnershipChallenge(id: descriptor.id, session: begin.id,
                                                   leaves: descriptor.leaves.map { LeafReference(chunk: $0.chunk, leaf: $0.leaf) },
                                                   expiresAt: descriptor.expiresAt)
                try await mallory.api.proveOwnership(session: begin.id,
                                                     try await OwnershipProof.answer(challenge, chunk: { prepared.chunks[$0] }).encoded())
            }
            func commit(_ attributes: [String], _ wrapped: Data) throws -> CommitRequest {
                CommitRequest(entries: [try mallory.entryCommit(name: "m.jpg", encoded: encoded, attributes: attributes,
                                                                attributeWrappedKey: Array(wrapped))])
            }
            let fileKey = encoded.fileKey.withUnsafeBytes { Array($0) }
            let own = try AttributeKeyWrapper(attributes: ["friend"], parameters: PublicParameters(decoding: Array(mallory.keyring.authorityParameters)))
                .wrap(fileKey, context: encoded.fileTag.bytes).encoded()
            let foreign = try AttributeKeyWrapper(attributes: ["family"], parameters: PublicParameters(decoding: Array(alice.keyring.authorityParameters)))
                .wrap(fileKey, context: encoded.fileTag.bytes).encoded()
            await expectCode("unprocessable") { _ = try await mallory.api.commit(session: begin.id, try commit(["family"], Data(own))) }
            await expectCode("unprocessable") { _ = try await mallory.api.commit(session: begin.id, try commit(["family"], Data(foreign))) }
            await expectCode("unprocessable") { _ = try await mallory.api.commit(session: begin.id, try commit(["family"], alicesCapsule)) }
            await expectCode("unprocessable") { _ = try await mallory.api.commit(session: begin.id, try commit(["friend"], alicesCapsule)) }
            await expectCode("unprocessable") { _ = try await mallory.api.commit(session: begin.id, try commit(["friend"], Data([1, 2, 3]))) }
            _ = try await mallory.api.commit(session: begin.id, try commit(["friend"], Data(own)))
            #expect(try await mallory.entries().map(\.attributes) == [["friend"]])
        }
    }

    @Test("a blob altered on disk makes get fail loudly and write nothing")
    func corruptedBlob() async throws {
        try await LiveServer.run { server in
            let alice = try await server.user("alice")
            let bytes = jpegImage(seed: "f", exif: "x")
            _ = try await alice.upload(path: try server.file("f.jpg", bytes), name: "f.jpg", attributes: [])
            try await server.corruptBlob(try await server.blobs.allTags().first!)
            let out = server.directory.appendingPathComponent("f-out.jpg").path
            await #expect(throws: TwinClientError.self) { _ = try await alice.get(owner: nil, name: "f.jpg", destination: out) }
            #expect(!FileManager.default.fileExists(atPath: out))
        }
    }

    @Test("20 concurrent uploads of one new image: one stored copy, 20 entries")
    func concurrentUploads() async throws {
        try await LiveServer.run { server in
            let image = try server.file("g.jpg", jpegImage(seed: "g", exif: "popular", scanBytes: 300_000))
            var users: [TwinSession] = []
            for index in 0..<20 { users.append(try await server.user("user\(index)")) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for user in users { group.addTask { _ = try await user.upload(path: image, name: "g.jpg", attributes: []) } }
                try await group.waitForAll()
            }
            let stats = try await users[0].stats()
            #expect(stats.entries == 20 && stats.files == 1)
            let size = try server.read(image).count
            #expect(stats.storedBytes < size + size / 50)
            #expect(try await server.blobCount() == stats.chunks)
            for user in users.prefix(3) {
                let out = server.directory.appendingPathComponent("g-\(user.keyring.user).jpg").path
                _ = try await user.get(owner: nil, name: "g.jpg", destination: out)
                #expect(try server.read(out) == server.read(image))
            }
        }
    }

    @Test("delete and garbage collection free storage without breaking another user's copy")
    func deleteAndCollect() async throws {
        try await LiveServer.run { server in
            let alice = try await server.user("alice"), bob = try await server.user("bob")
            let shared = jpegImage(seed: "h", exif: "x")
            let own = jpegImage(seed: "only-alice", exif: "y")
            _ = try await alice.upload(path: try server.file("h.jpg", shared), name: "h.jpg", attributes: [])
            _ = try await bob.upload(path: try server.file("h2.jpg", shared), name: "h.jpg", attributes: [])
            _ = try await alice.upload(path: try server.file("i.jpg", own), name: "i.jpg", attributes: [])
            let before = try await alice.stats()
            let collector = GarbageCollector(store: server.store, blobs: server.blobs, gracePeriod: 0, interval: .seconds(60),
                                             logger: .init(label: "test"))
            try await alice.delete(name: "h.jpg")
            try await alice.delete(name: "i.jpg")
            // Grace period: nothing is collected while it lasts.
            let early = GarbageCollector(store: server.store, blobs: server.blobs, gracePeriod: 3600, interval: .seconds(60),
                                         logger: .init(label: "test"))
            #expect(try await early.collect() == 0)
            let freed = try await collector.collect(now: Date().addingTimeInterval(1))
            #expect(freed > 0)
            let after = try await alice.stats()
            #expect(after.storedBytes < before.storedBytes - own.count / 2)
            #expect(try await server.blobCount() == after.chunks)
            let out = server.directory.appendingPathComponent("bob.jpg").path
            _ = try await bob.get(owner: nil, name: "h.jpg", destination: out)
            #expect(try server.read(out) == shared)
            await expectCode("not_found") { try await alice.api.delete(owner: "alice", name: "h.jpg") }
        }
    }

    @Test("a bare KP-ABE ciphertext of K_M (the unbound legacy form) is refused, even sealed by its owner")
    func legacyWrappedKeyRefused() async throws {
        try await LiveServer.run { server in
            let alice = try await server.user("alice"), bob = try await server.user("bob")
            _ = try await alice.upload(path: try server.file("l.jpg", jpegImage(seed: "l", exif: "old")), name: "l.jpg",
                                       attributes: ["family"])
            try await alice.grant("bob", policy: "family")
            let entry = try await alice.api.entry(owner: "alice", name: "l.jpg")
            let fileKey = try alice.keyring.unwrapForOwner(entry.ownerWrappedKey!, name: "l.jpg", fileTag: entry.fileTag.bytes)
            let legacy = try KPABE.encrypt(fileKey.withUnsafeBytes { Array($0) }, attributes: ["family"],
                                           to: PublicParameters(decoding: Array(alice.keyring.authorityParameters))).encoded()
            let seal = try EntrySeal(sealing: EntrySeal.Fields(owner: "alice", name: "l.jpg", fileTag: entry.fileTag, attributes: ["family"],
                                                               attributeWrappedKey: legacy, mediaType: entry.mediaType, size: entry.size),
                                     version: 1, with: alice.keyring.signing)
            let old = EntryResponse(owner: "alice", name: "l.jpg", fileTag: entry.fileTag, attributes: ["family"],
                                    attributeWrappedKey: Data(legacy), ownerWrappedKey: nil, sealedManifest: nil, chunks: nil,
                                    mediaType: entry.mediaType, size: entry.size, createdAt: entry.createdAt, ownerSeal: Data(seal.encoded()))
            await #expect(throws: TwinClientError.self) { _ = try await bob.fileKey(for: old) }
            // The bound form opens to the key.
            #expect(try await bob.fileKey(for: entry).withUnsafeBytes { Array($0) } == fileKey.withUnsafeBytes { Array($0) })
        }
    }

    @Test("a server whose run is cancelled by a failing caller shuts down (the collector stops too)")
    func cancelledRunEnds() async throws {
        struct Failure: Error {}
        await #expect(throws: Failure.self) {
            try await LiveServer.run { server in
                _ = try await server.user("alice")
                throw Failure()
            }
        }
    }

    @Test("every error is a JSON body with a stable code; the OpenAPI document lists every route")
    func errorsAndDocument() async throws {
        let store = MemoryMetadataStore()
        let app = buildApplication(configuration: ServerConfiguration(), store: store, blobs: BlobStore(MemoryBlobBackend()))
        try await app.test(.router) { client in
            for (method, uri, code) in [(HTTPRequest.Method.get, "/v1/files", "unauthenticated"),
                                        (.get, "/nowhere", "not_found"),
                                        (.post, "/v1/users", "bad_request"),
                                        (.get, "/v1/files", "unauthenticated")] {
                let headers: HTTPFields = uri == "/v1/files" && code == "unauthenticated" ? [.authorization: "Bearer bm90LWEtdG9rZW4"] : [:]
                try await client.execute(uri: uri, method: method, headers: headers, body: ByteBuffer(string: "{")) { response in
                    let body = try TwinProtocol.makeDecoder().decode(ErrorBody.self, from: Data(buffer: response.body))
                    #expect(body.error.code == code, "\(method) \(uri)")
                    #expect(response.headers[.contentType] == "application/json")
                }
            }
            // Every route the router serves is documented, with its method, and nothing else is.
            var withKeyServer = ServerConfiguration()
            withKeyServer.keyServer = .embedded(KeyServerTests.key)
            let routes = buildRouter(configuration: withKeyServer, store: store, blobs: BlobStore(MemoryBlobBackend())).routes
            #expect(routes.count > 15)
            try await client.execute(uri: "/openapi.yaml", method: .get) { response in
                var documented: [String: Set<String>] = [:]
                var path: String?
                for line in String(buffer: response.body).split(separator: "\n") {
                    if line.hasPrefix("  /"), line.hasSuffix(":") {
                        path = String(line.dropFirst(2).dropLast())
                    } else if let current = path, line.hasPrefix("    "), !line.hasPrefix("     "),
                              let method = line.dropFirst(4).split(separator: ":").first {
                        documented[current, default: []].insert(method.lowercased() + ":")
                    } else if !line.hasPrefix(" ") {
                        path = nil
                    }
                }
                var served: [String: Set<String>] = [:]
                for route in routes { served["\(route.path)", default: []].insert(route.method.rawValue.lowercased() + ":") }
                #expect(documented == served)
            }
            try await client.execute(uri: "/healthz", method: .get) { response in #expect(response.status == .ok) }
            // A path that exists, with a method it does not serve: 405, its methods in Allow, JSON.
            for (method, uri, allow) in [(HTTPRequest.Method.trace, "/v1/users", "POST"), (.get, "/v1/uploads", "POST"),
                                         (.patch, "/v1/files/alice/x.jpg", "DELETE, GET"), (.put, "/healthz", "GET")] {
                try await client.execute(uri: uri, method: method) { response in
                    #expect(response.status == .methodNotAllowed, "\(method) \(uri)")
                    #expect(response.headers[.allow] == allow)
                    let body = try? TwinProtocol.makeDecoder().decode(ErrorBody.self, from: Data(buffer: response.body))
                    #expect(body?.error.code == "method_not_allowed")
                }
            }
        }
    }
}

func expectCode(_ code: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void) async {
    do {
        try await body()
        Issue.record("expected the server to refuse with \(code)", sourceLocation: sourceLocation)
    } catch let error as TwinClientError {
        #expect(error.serverCode == code, "\(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
    }
}

func expectAccessDenied(sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void) async {
    do {
        try await body()
        Issue.record("expected access to be denied", sourceLocation: sourceLocation)
    } catch TwinClientError.accessDenied {
    } catch {
        Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
    }
}
