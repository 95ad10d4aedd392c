import Convergent
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
@testable import TwinClient
import TwinOPRF
import TwinProtocol
@testable import TwinServer
import TwinStorage

/// Server-aided convergent keys (issue 21): the key server inside `twin serve` and as a process of
/// its own, what an offline attacker can no longer do, dedup kept, and the refusals.
@Suite("Key server")
struct KeyServerTests {
    static let key = try! OPRFPrivateKey.generate()

    static func withKeyServer(_ configuration: inout ServerConfiguration) {
        configuration.keyServer = .embedded(key)
    }

    @Test("an offline attacker holding the exact image cannot compute its tags; users still dedup it and its edited copies")
    func keysNeedTheServer() async throws {
        try await LiveServer.run(configure: Self.withKeyServer) { server in
            let alice = try await server.user("alice"), bob = try await server.user("bob"), carol = try await server.user("carol")
            let original = jpegImage(seed: "form", exif: "GPS 48.8584N 2.2945E", scanBytes: 400_000)
            let edited = jpegImage(seed: "form", exif: "GPS 40.6892N 74.0445W (edited)", scanBytes: 400_000)
            let path = try server.file("form.jpg", original), editedPath = try server.file("form-edited.jpg", edited)
            let first = try await alice.upload(path: path, name: "form.jpg", attributes: [])
            #expect(first.deduplicatedBytes == 0)
            let entry = try await alice.api.entry(owner: "alice", name: "form.jpg")

            // Offline: the content alone gives other keys, so none of its tags is on the server.
            let offline = try await ConvergentEncoder().encode(MemoryByteSource(original))
            #expect(offline.fileTag != entry.fileTag)
            #expect(try await server.store.storedChunks(offline.chunkTags).isEmpty)
            #expect(try await server.store.file(offline.fileTag) == nil)

            // Through the key server, another user's copy and edited copy deduplicate.
            let second = try await bob.upload(path: path, name: "form.jpg", attributes: [])
            #expect(second.fileExisted && second.deduplicatedBytes == original.count)
            let third = try await carol.upload(path: editedPath, name: "form-edited.jpg", attributes: [])
            #expect(third.deduplicatedBytes >= 400_000, "the scan data is shared")
            #expect(try await server.download(bob, "form.jpg") == original)
            #expect(try await server.download(carol, "form-edited.jpg") == edited)
            // The manifest carries the key sources (version 3), and readers check them.
            let manifest = try Manifest.open(Array(entry.sealedManifest!), fileKey: try await alice.fileKey(for: entry))
            #expect(manifest.entries.allSatisfy { $0.keySource != nil })
        }
    }

    @Test("answers under another key are refused, a changed key-server key is refused, and the per-user rate triggers")
    func refusals() async throws {
        try await LiveServer.run(configure: Self.withKeyServer) { server in
            let alice = try await server.user("alice")
            let path = try server.file("a.jpg", jpegImage(seed: "a", exif: "a", scanBytes: 300_000))
            // A key server answering under a key other than the pinned one.
            let impostor = try OPRFPrivateKey.generate()
            try await LiveServer.run(configure: { $0.keyServer = .embedded(impostor) }) { other in
                var atOther = alice.keyring
                atOther.server = other.url
                atOther.serverID = try await TwinAPI(baseURL: other.url).serverInfo().id
                atOther.keyServerKey = nil
                let there = try await TwinSession.register(atOther)
                let forged = ServerAidedKeyDerivation(publicKey: Self.key.publicKey, api: there.api,
                                                      cache: KeySourceCache(keyring: alice.keyring, keyServer: Self.key.publicKey, file: nil))
                await #expect(throws: TwinClientError.self) {
                    _ = try await forged.keySources(for: [KeyUnit(kind: .metadata, contentHashes: [contentHash(of: [1, 2, 3])])])
                }
                // A keyring that pinned this server's key refuses a server publishing another.
                var pinned = atOther
                pinned.keyServerKey = Self.key.publicKey.derRepresentation
                await #expect(throws: TwinClientError.self) { _ = try await TwinSession(keyring: pinned, knownKeys: KnownKeys(file: nil)) }
            }
            _ = try await alice.upload(path: path, name: "a.jpg", attributes: [])
        }
        // Five evaluations at most, none refilled: a second image runs out.
        try await LiveServer.run(configure: {
            Self.withKeyServer(&$0)
            $0.limits.keyEvaluations = .init(perSecond: 0, burst: 5)
        }) { server in
            let mallory = try await server.user("mallory")
            let images = try (0..<4).map { try server.file("m\($0).jpg", jpegImage(seed: "m\($0)", exif: "m\($0)", scanBytes: 100_000)) }
            await expectCode("rate_limited") {
                for (index, path) in images.enumerated() { _ = try await mallory.upload(path: path, name: "m\(index).jpg", attributes: []) }
            }
            // Bad elements: wrong size, or too many.
            await expectCode("unprocessable") { _ = try await mallory.api.evaluateKeys(KeyEvaluationRequest(elements: [Data([1, 2, 3])])) }
            await expectCode("bad_request") {
                _ = try await mallory.api.evaluateKeys(KeyEvaluationRequest(elements: Array(repeating: Data(count: 256), count: 257)))
            }
        }
    }

    @Test("a separate twin keyserver over the same metadata store serves the storage server's users")
    func separateKeyServer() async throws {
        let store = MemoryMetadataStore()
        var keyConfiguration = ServerConfiguration()
        keyConfiguration.port = 0
        let keyApp = buildKeyServerApplication(configuration: keyConfiguration, key: Self.key, store: store)
        try await keyApp.test(.live) { keyClient in
            let keyURL = "http://127.0.0.1:\(keyClient.port!)"
            let info = try TwinProtocol.makeDecoder().decode(KeyServerInfo.self, from: Data(
                try await keyClient.execute(uri: "/v1/keyserver", method: .get).body.readableBytesView))
            #expect(info.publicKey == Self.key.publicKey.derRepresentation)
            #expect(try await TwinAPI(baseURL: keyURL).keyServerPublicKey() == Self.key.publicKey)
            var configuration = ServerConfiguration()
            configuration.port = 0
            configuration.keyServer = .separate(url: keyURL, publicKey: try OPRFPublicKey(derRepresentation: info.publicKey))
            let app = buildApplication(configuration: configuration, store: store, blobs: BlobStore(MemoryBlobBackend()))
            try await app.test(.live) { client in
                let url = "http://127.0.0.1:\(client.port!)"
                let alice = try await TwinSession.register(Keyring.generate(user: "alice", server: url))
                let bob = try await TwinSession.register(Keyring.generate(user: "bob", server: url))
                #expect(alice.keyDerivation?.api.baseURL == keyURL)
                let directory = FileManager.default.temporaryDirectory.appendingPathComponent("twin-ks-\(UUID().uuidString)")
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                defer { try? FileManager.default.removeItem(at: directory) }
                let image = jpegImage(seed: "sep", exif: "s", scanBytes: 200_000)
                let path = directory.appendingPathComponent("s.jpg").path
                try Data(image).write(to: URL(fileURLWithPath: path))
                _ = try await alice.upload(path: path, name: "s.jpg", attributes: [])
                #expect(try await bob.upload(path: path, name: "s.jpg", attributes: []).fileExisted)
                // Without a token the key server refuses.
                await expectCode("unauthenticated") {
                    _ = try await TwinAPI(baseURL: keyURL).evaluateKeys(KeyEvaluationRequest(elements: [Data(count: 256)]))
                }
            }
        }
    }
}
