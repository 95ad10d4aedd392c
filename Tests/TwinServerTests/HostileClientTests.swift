import Convergent
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Hummingbird
import HummingbirdTesting
import KPABE
import Testing
@testable import TwinClient
import TwinProtocol
@testable import TwinServer
import TwinStorage

/// What one hostile or careless client can do to the server, from issue 19, each in its fixed form:
/// refused with a clear error, while the server goes on serving everyone else.
@Suite("Hostile clients")
struct HostileClientTests {
    /// A server on `ServerLimits` adjusted by `configure`, tested through its router.
    static func withRouter(_ configure: (inout ServerLimits) -> Void = { _ in },
                           _ test: @Sendable (any TestClientProtocol, SQLiteMetadataStore) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("twin-hostile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try await SQLiteMetadataStore.open(path: directory.appendingPathComponent("m.sqlite").path)
        var configuration = ServerConfiguration()
        configure(&configuration.limits)
        let app = buildApplication(configuration: configuration, store: store, blobs: BlobStore(MemoryBlobBackend()))
        try await app.test(.router) { client in try await test(client, store) }
        try await store.close()
    }

    static func json(_ value: some Encodable) throws -> ByteBuffer {
        ByteBuffer(bytes: try TwinProtocol.makeEncoder().encode(value))
    }

    static func errorCode(_ response: TestResponse) -> String? {
        try? TwinProtocol.makeDecoder().decode(ErrorBody.self, from: Data(buffer: response.body)).error.code
    }

    @Test("a grant with a policy nested 200,000 deep is refused and the server keeps serving")
    func nestedPolicy() async throws {
        try await LiveServer.run { server in
            let alice = try await server.user("alice"), bob = try await server.user("bob")
            for policy in [String(repeating: "(", count: 200_000) + "a" + String(repeating: ")", count: 200_000),
                           String(repeating: "(", count: 20_000) + "a" + String(repeating: ")", count: 20_000),
                           (0..<5000).map { "a\($0)" }.joined(separator: " or ")] {
                await expectCode("unprocessable") {
                    try await bob.api.putGrant(grantee: "alice", GrantRequest(policy: policy, sealedKey: Data(count: 64)))
                }
            }
            try await alice.api.health()
            #expect(try await bob.entries().isEmpty)
        }
    }

    @Test("login challenges: an oversized or invalid user is refused unstored, and a flood from one address gets 429")
    func challengeFlood() async throws {
        try await Self.withRouter({ $0.anonymous = .init(perSecond: 0.001, burst: 5) }) { client, store in
            let huge = try Self.json(LoginChallengeRequest(user: String(repeating: "x", count: 4 << 20)))
            try await client.execute(uri: "/v1/auth/challenge", method: .post, body: huge) { response in
                #expect(response.status == .contentTooLarge)
                #expect(Self.errorCode(response) == "payload_too_large")
            }
            try await client.execute(uri: "/v1/auth/challenge", method: .post,
                                     body: try Self.json(LoginChallengeRequest(user: String(repeating: "x", count: 65)))) { response in
                #expect(response.status == .badRequest)
            }
            for _ in 0..<3 {
                try await client.execute(uri: "/v1/auth/challenge", method: .post,
                                         body: try Self.json(LoginChallengeRequest(user: "someone"))) { response in
                    #expect(response.status == .ok)
                }
            }
            try await client.execute(uri: "/v1/auth/challenge", method: .post,
                                     body: try Self.json(LoginChallengeRequest(user: "someone"))) { response in
                #expect(response.status == .tooManyRequests)
                #expect(Self.errorCode(response) == "rate_limited")
                #expect(Int(response.headers[.retryAfter] ?? "") ?? 0 >= 1)
            }
            // Only the three valid requests left a row.
            let stored = try await store.rowCount("login_challenges")
            #expect(stored == 3)
        }
    }

    #if os(Linux)
    /// Slowloris: a client that opens a connection and trickles nothing holds it only until the
    /// idle timeout, so idle sockets cannot pile up to the connection cap.
    @Test("an idle connection is closed after the idle timeout")
    func idleConnectionsAreClosed() async throws {
        try await LiveServer.run(configure: { $0.limits.idleTimeout = .seconds(1) }) { server in
            let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(socket) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(server.port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            #expect(connected == 0)
            _ = "GET /healthz HTTP/1.1\r\nHost: x\r\n".withCString { send(socket, $0, strlen($0), 0) }  // never finished
            var timeout = timeval(tv_sec: 10, tv_usec: 0)
            setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            let started = ContinuousClock.now
            var buffer = [UInt8](repeating: 0, count: 256)
            var received = 1
            while received > 0 { received = recv(socket, &buffer, buffer.count, 0) }
            let waited = started.duration(to: .now)
            #expect(received == 0, "the server closed the connection")
            #expect(waited < .seconds(8), "within the idle timeout, not the test's own")
        }
    }
    #endif

    @Test("expired login challenges are pruned as new ones arrive")
    func challengesArePruned() async throws {
        try await Self.withRouter { _, store in
            let past = Date().addingTimeInterval(-10)
            for index in 0..<50 { try await store.storeLoginChallenge(Array(repeating: UInt8(index), count: 32), user: "u", expiresAt: past) }
            try await store.storeLoginChallenge(Array(repeating: 0xFF, count: 32), user: "u", expiresAt: Date().addingTimeInterval(60))
            #expect(try await store.rowCount("login_challenges") == 1)
        }
    }

    @Test("upload sessions per user are capped; begins and failed proofs are rate-limited")
    func uploadLimits() async throws {
        try await LiveServer.run(configure: {
            $0.limits.uploadSessionsPerUser = 2
            $0.limits.failedProofs = .init(perSecond: 0.0001, burst: 1)
        }) { server in
            let alice = try await server.user("alice"), mallory = try await server.user("mallory")
            let bytes = jpegImage(seed: "limits", exif: "x", scanBytes: 200_000)
            _ = try await alice.upload(path: try server.file("a.jpg", bytes), name: "a.jpg", attributes: [])
            var sizes: [Digest32: Int] = [:]
            let encoded = try await ConvergentEncoder().encode(MemoryByteSource(bytes)) { sizes[$0.tag] = $0.ciphertext.count }
            let announce = BeginUploadRequest(fileTag: encoded.fileTag, chunks: encoded.chunkTags.map { ChunkReference(tag: $0, size: sizes[$0]!) })
            let first = try await mallory.api.beginUpload(announce)
            _ = try await mallory.api.beginUpload(announce)
            await expectCode("limit_reached") { _ = try await mallory.api.beginUpload(announce) }
            // One failed proof spends mallory's allowance: no further proof, and no fresh challenge.
            let challenge = try #require(first.challenge)
            let forged = OwnershipProof(challengeID: challenge.id, openings: challenge.leaves.map {
                OwnershipProof.Opening(reference: LeafReference(chunk: $0.chunk, leaf: $0.leaf), piece: [0], path: [])
            })
            await expectCode("proof_invalid") { try await mallory.api.proveOwnership(session: first.id, forged.encoded()) }
            try await server.store.deleteUploadSession(id: first.id)
            await expectCode("rate_limited") { _ = try await mallory.api.beginUpload(announce) }
            // Alice, who holds the image, is not affected.
            _ = try await alice.upload(path: try server.file("b.jpg", bytes), name: "b.jpg", attributes: [])
        }
    }

    @Test("ownership challenges cannot be re-rolled without limit")
    func rerollsAreLimited() async throws {
        try await LiveServer.run(configure: { $0.limits.challenges = .init(perSecond: 0.0001, burst: 3) }) { server in
            let alice = try await server.user("alice"), mallory = try await server.user("mallory")
            let bytes = jpegImage(seed: "reroll", exif: "x", scanBytes: 1_500_000)
            _ = try await alice.upload(path: try server.file("a.jpg", bytes), name: "a.jpg", attributes: [])
            let prepared = try await mallory.prepare(path: try server.file("m.jpg", bytes), name: "m.jpg")
            let announce = BeginUploadRequest(fileTag: prepared.encoded.fileTag,
                                              chunks: prepared.chunks.map { ChunkReference(tag: $0.tag, size: $0.count) })
            var draws: [[ChallengeDescriptor.Leaf]] = []
            for _ in 0..<3 { draws.append(try #require(try await mallory.api.beginUpload(announce).challenge).leaves) }
            #expect(Set(draws.map { $0.map { "\($0.chunk).\($0.leaf)" } }).count == 3, "each draw is fresh")
            await expectCode("rate_limited") { _ = try await mallory.api.beginUpload(announce) }
        }
    }

    @Test("a storage quota: a commit past it is refused whole, and every entry is charged in full")
    func quota() async throws {
        let bytes = jpegImage(seed: "quota", exif: "x", scanBytes: 300_000)
        try await LiveServer.run(configure: { $0.limits.quotaBytes = bytes.count * 3 / 2 }) { server in
            let alice = try await server.user("alice"), bob = try await server.user("bob")
            let path = try server.file("q.jpg", bytes)
            _ = try await alice.upload(path: path, name: "one.jpg", attributes: [])
            // A second name for the same image costs its full size again: charges do not depend on
            // what others (or oneself) store.
            await expectCode("quota_exceeded") { _ = try await alice.upload(path: path, name: "two.jpg", attributes: []) }
            #expect(try await alice.entries().map(\.name) == ["one.jpg"])
            // Bob's quota is his own.
            _ = try await bob.upload(path: path, name: "one.jpg", attributes: [])
        }
    }

    @Test("declared sizes, attributes and media types are bounded, so server-wide sums cannot overflow")
    func commitFieldsAreBounded() async throws {
        try await LiveServer.run { server in
            let alice = try await server.user("alice")
            let prepared = try await alice.prepare(path: try server.file("s.jpg", jpegImage(seed: "size", exif: "x", scanBytes: 100_000)),
                                                   name: "s.jpg")
            let encoded = prepared.encoded
            let announce = BeginUploadRequest(fileTag: encoded.fileTag, chunks: prepared.chunks.map { ChunkReference(tag: $0.tag, size: $0.count) })
            func commit(size: Int, attributes: [String] = [], mediaType: String = "image/jpeg") throws -> CommitRequest {
                CommitRequest(entries: [try alice.entryCommit(name: "s.jpg", encoded: encoded, attributes: attributes,
                                                              attributeWrappedKey: [], mediaType: mediaType, size: size)])
            }
            let begin = try await alice.api.beginUpload(announce)
            for chunk in prepared.chunks where begin.missing.contains(chunk.tag) {
                try await alice.api.putChunk(session: begin.id, tag: chunk.tag.hex, chunk)
            }
            for hostile in [try commit(size: Int.max), try commit(size: -1), try commit(size: 1, attributes: (0..<65).map { "a\($0)" }),
                            try commit(size: 1, attributes: [String(repeating: "a", count: 256)]),
                            try commit(size: 1, mediaType: String(repeating: "x", count: 256))] {
                await expectCode("unprocessable") { try await alice.api.commit(session: begin.id, hostile) }
            }
            try await alice.api.commit(session: begin.id, try commit(size: 1 << 40))
            let stats = try await alice.stats()
            #expect(stats.logicalBytes == 1 << 40)
        }
    }
}


/// Issue 19's chunk-list poisoning: a file's tag binds its chunk list, so nobody can commit a real
/// file tag with a list of their own, before another user's upload or in the middle of it.
@Suite("Shared-file integrity")
struct SharedFileIntegrityTests {
    /// Mallory, who holds the image, commits its real tag and sealed manifest over a junk chunk.
    static func poison(_ mallory: TwinSession, prepared: TwinSession.PreparedUpload) async throws {
        let junk = HashedCiphertext((0..<500).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        let begin = try await mallory.api.beginUpload(BeginUploadRequest(
            fileTag: prepared.encoded.fileTag, chunks: [ChunkReference(tag: junk.tag, size: junk.count)]))
        try await mallory.api.putChunk(session: begin.id, tag: junk.tag.hex, junk)
        await expectCode("tag_mismatch") {
            try await mallory.api.commit(session: begin.id, CommitRequest(entries: [
                try mallory.entryCommit(name: "poison.jpg", encoded: prepared.encoded, attributes: [], attributeWrappedKey: [], size: 1)]))
        }
    }

    @Test("a real file tag committed over a junk chunk list is refused; the owner's later upload works")
    func poisonBeforeUpload() async throws {
        try await LiveServer.run { server in
            let alice = try await server.user("alice"), mallory = try await server.user("mallory")
            let bytes = jpegImage(seed: "poison", exif: "p", scanBytes: 200_000)
            let path = try server.file("p.jpg", bytes)
            try await Self.poison(mallory, prepared: try await mallory.prepare(path: path, name: "p.jpg"))
            _ = try await alice.upload(path: path, name: "p.jpg", attributes: [])
            #expect(try await server.download(alice, "p.jpg") == bytes)
        }
    }

    @Test("poisoning between another user's begin and commit changes nothing: their upload reads back")
    func poisonMidUpload() async throws {
        try await LiveServer.run { server in
            let bob = try await server.user("bob"), mallory = try await server.user("mallory")
            let bytes = jpegImage(seed: "race", exif: "r", scanBytes: 200_000)
            let path = try server.file("r.jpg", bytes)
            let prepared = try await bob.prepare(path: path, name: "r.jpg")
            let begin = try await bob.api.beginUpload(BeginUploadRequest(
                fileTag: prepared.encoded.fileTag, chunks: prepared.chunks.map { ChunkReference(tag: $0.tag, size: $0.count) }))
            for chunk in prepared.chunks where begin.missing.contains(chunk.tag) {
                try await bob.api.putChunk(session: begin.id, tag: chunk.tag.hex, chunk)
            }
            try await Self.poison(mallory, prepared: try await mallory.prepare(path: path, name: "r.jpg"))
            try await bob.api.commit(session: begin.id, CommitRequest(entries: [
                try bob.entryCommit(name: "r.jpg", encoded: prepared.encoded, attributes: [], attributeWrappedKey: [], size: bytes.count)]))
            #expect(try await server.download(bob, "r.jpg") == bytes)
        }
    }
}

/// The client's own safety: what `twin get` writes, and what `twin account create` keeps.
@Suite("Client safety")
struct ClientSafetyTests {
    @Test("get into an existing folder writes inside it and deletes nothing; an existing file is replaced whole")
    func getNeverDeletesAFolder() async throws {
        try await LiveServer.run { server in
            let alice = try await server.user("alice")
            let bytes = jpegImage(seed: "get", exif: "x", scanBytes: 50_000)
            _ = try await alice.upload(path: try server.file("g.jpg", bytes), name: "g.jpg", attributes: [])
            let folder = server.directory.appendingPathComponent("photos")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let keep = folder.appendingPathComponent("keep.txt")
            try Data("mine".utf8).write(to: keep)
            _ = try await alice.get(owner: nil, name: "g.jpg", destination: folder.path)
            #expect(try Data(contentsOf: keep) == Data("mine".utf8))
            #expect(try server.read(folder.appendingPathComponent("g.jpg").path) == bytes)
            // A file of that name is replaced by rename, not deleted first.
            let target = folder.appendingPathComponent("old.jpg")
            try Data("old".utf8).write(to: target)
            _ = try await alice.get(owner: nil, name: "g.jpg", destination: target.path)
            #expect(try server.read(target.path) == bytes)
            // A folder where the file would go is refused, not removed.
            try FileManager.default.createDirectory(at: folder.appendingPathComponent("g.jpg.d/g.jpg"), withIntermediateDirectories: true)
            await #expect(throws: TwinClientError.self) {
                _ = try await alice.get(owner: nil, name: "g.jpg", destination: folder.appendingPathComponent("g.jpg.d").path)
            }
            #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("g.jpg.d/g.jpg").path))
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix(".twin-") }
            #expect(leftovers.isEmpty)
        }
    }

    @Test("account creation keeps a keyring the server accepted and resumes; a name taken by another key is refused")
    func accountCreationResumes() async throws {
        try await LiveServer.run { server in
            let home = server.directory.appendingPathComponent("home-\(UUID().uuidString)")
            try await withTwinHome(home.path) {
                // The first run registered the keys and then lost its login: the keyring stays.
                let keyring = Keyring.generate(user: "carol", server: server.url)
                try keyring.save()
                try await TwinSession.registerIfNeeded(keyring)
                // Running create again resumes with the same keys instead of failing on the name.
                let session = try await TwinSession.createAccount(user: "carol", server: server.url)
                #expect(session.keyring.signingPublicKey == keyring.signingPublicKey)
                #expect(try await session.entries().isEmpty)
                try FileManager.default.removeItem(at: home)
                // Someone else's keys under that name: refused, and this run's keyring removed.
                await expectCode("conflict") { _ = try await TwinSession.createAccount(user: "carol", server: server.url) }
                #expect(!FileManager.default.fileExists(atPath: home.appendingPathComponent("keyring.json").path))
            }
        }
    }
}

/// Runs `body` with `TWIN_HOME` set to `path`. Only one test reads `TWIN_HOME`, so none races it.
func withTwinHome(_ path: String, _ body: () async throws -> Void) async throws {
    let previous = ProcessInfo.processInfo.environment["TWIN_HOME"]
    setenv("TWIN_HOME", path, 1)
    setenv("TWIN_PASSPHRASE", ProcessInfo.processInfo.environment["TWIN_PASSPHRASE"] ?? "twin-test-passphrase", 1)
    setenv("TWIN_KEYRING_SCRYPT_N", "16384", 1)
    defer { if let previous { setenv("TWIN_HOME", previous, 1) } else { unsetenv("TWIN_HOME") } }
    try await body()
}
