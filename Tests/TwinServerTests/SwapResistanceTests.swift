import Convergent
import Foundation
import KPABE
import Testing
@testable import TwinClient
import TwinProtocol

/// Issue 21's substitution attacks, each played by a hostile server (or a second server standing in
/// for one): relayed logins, swapped keys, and entries whose key or content was replaced.
@Suite("Keys and content that cannot be swapped")
struct SwapResistanceTests {
    @Test("a login signature made for one server is refused by another, and a client refuses a server with another identity")
    func loginsAreBoundToTheirServer() async throws {
        try await LiveServer.run { a in
            try await LiveServer.run { b in
                let alice = try await a.user("alice")
                let idA = try await alice.api.serverInfo().id
                let idB = try await TwinAPI(baseURL: b.url).serverInfo().id
                #expect(idA != idB && idA.count == 32)
                #expect(try await TwinAPI(baseURL: a.url).serverInfo().id == idA, "stable")
                // The same identity registered at B too.
                var atB = alice.keyring
                atB.server = b.url
                atB.serverID = idB
                _ = try await TwinSession.register(atB)
                // A relays B's nonce to alice; her signature names A, so B refuses it.
                let api = TwinAPI(baseURL: b.url)
                let challenge = try await api.anonymousJSON("/v1/auth/challenge", LoginChallengeRequest(user: "alice"),
                                                            as: LoginChallengeResponse.self)
                let relayed = try alice.keyring.signing.signature(for: TwinProtocol.loginMessage(
                    server: Array(idA), user: "alice", nonce: Array(challenge.nonce)))
                await expectCode("unauthenticated") {
                    _ = try await api.anonymousJSON("/v1/auth/token", TokenRequest(user: "alice", nonce: challenge.nonce, signature: relayed),
                                                    as: TokenResponse.self)
                }
                // Signed for B, a login at B works.
                _ = try await api.login(user: "alice", signingKey: alice.keyring.signing, server: Array(idB))
                #expect(api.token != nil)
                // A keyring pinned to A refuses to log in at B.
                var misdirected = alice.keyring
                misdirected.server = b.url
                await #expect(throws: TwinClientError.self) {
                    _ = try await TwinSession(keyring: misdirected, knownKeys: KnownKeys(file: nil))
                }
            }
        }
    }

    @Test("a server that swaps a grantee's key makes grant refuse; twin trust accepts only the fingerprint it is given")
    func swappedGranteeKeyIsRefused() async throws {
        try await LiveServer.run { honest in
            try await LiveServer.run { hostile in
                let alice = try await honest.user("alice"), bob = try await honest.user("bob")
                try await alice.grant("bob", policy: "family")
                #expect(alice.knownKeys.pinned("bob") == bob.keyring.publicKeys, "pinned on first grant")
                let (offered, pinned) = try await alice.fingerprint(of: "bob")
                #expect(offered.fingerprint == bob.keyring.publicKeys.fingerprint && pinned == offered)
                // The hostile server answers for "bob" with keys of its own.
                let impostor = try await hostile.user("bob")
                var proxied = alice
                proxied.api = TwinAPI(baseURL: hostile.url)
                do {
                    try await proxied.grant("bob", policy: "family")
                    Issue.record("a grant to a swapped key went out")
                } catch TwinClientError.keyChanged(let user, let was, let now) {
                    #expect(user == "bob" && was == bob.keyring.publicKeys.fingerprint && now == impostor.keyring.publicKeys.fingerprint)
                }
                // Trust needs the fingerprint checked out of band: a wrong one changes nothing.
                await #expect(throws: TwinClientError.self) {
                    _ = try await proxied.trust("bob", fingerprint: bob.keyring.publicKeys.fingerprint)
                }
                #expect(alice.knownKeys.pinned("bob") == bob.keyring.publicKeys)
                // Given the new key's own fingerprint (bob really changed keys), it is pinned.
                _ = try await proxied.trust("bob", fingerprint: impostor.keyring.publicKeys.fingerprint.uppercased())
                #expect(alice.knownKeys.pinned("bob") == impostor.keyring.publicKeys)
            }
        }
    }

    @Test("an entry the server re-wraps with another image's key, or alters, or strips of its seal, is refused by the grantee")
    func substitutedEntryIsRefused() async throws {
        try await LiveServer.run { server in
            let alice = try await server.user("alice"), bob = try await server.user("bob")
            let beach = jpegImage(seed: "beach", exif: "b")
            _ = try await alice.upload(path: try server.file("beach.jpg", beach), name: "beach.jpg", attributes: ["family"])
            try await alice.grant("bob", policy: "family")
            #expect(try await server.download(bob, owner: "alice", "beach.jpg") == beach)
            let real = try await bob.api.entry(owner: "alice", name: "beach.jpg")

            // The server's own image, convergently encrypted (it needs no secret for that), its key
            // wrapped under "family" with alice's public parameters, served as alice/beach.jpg.
            let planted = try await ConvergentEncoder().encode(MemoryByteSource(jpegImage(seed: "planted", exif: "p")))
            let wrapped = try AttributeKeyWrapper(attributes: ["family"], parameters: PublicParameters(decoding: Array(alice.keyring.authorityParameters)))
                .wrap(planted.fileKey.withUnsafeBytes { Array($0) }, context: planted.fileTag.bytes).encoded()
            var forged = real
            forged.fileTag = planted.fileTag
            forged.sealedManifest = Data(planted.sealedManifest)
            forged.attributeWrappedKey = Data(wrapped)
            await #expect(throws: TwinClientError.self) { _ = try await bob.fileKey(for: forged) }
            // Only the wrapped key replaced (same file), or the name, or the claimed attributes.
            var rewrapped = real
            rewrapped.attributeWrappedKey = Data(try AttributeKeyWrapper(attributes: ["family"], parameters: PublicParameters(
                decoding: Array(alice.keyring.authorityParameters))).wrap(Array(repeating: 7, count: 32), context: real.fileTag.bytes).encoded())
            var renamed = real
            renamed.name = "other.jpg"
            var relabelled = real
            relabelled.attributes = ["family", "public"]
            var unsealed = real
            unsealed.ownerSeal = Data()
            for altered in [rewrapped, renamed, relabelled, unsealed] {
                await #expect(throws: TwinClientError.self) { _ = try await bob.fileKey(for: altered) }
            }
            #expect(try await bob.fileKey(for: real).withUnsafeBytes { $0.count } == 32)
        }
    }

    @Test("the server refuses a commit whose seal is not the uploader's")
    func commitNeedsTheOwnersSeal() async throws {
        try await LiveServer.run { server in
            let alice = try await server.user("alice"), mallory = try await server.user("mallory")
            let prepared = try await mallory.prepare(path: try server.file("m.jpg", jpegImage(seed: "m", exif: "m")), name: "m.jpg")
            let begin = try await mallory.api.beginUpload(BeginUploadRequest(
                fileTag: prepared.encoded.fileTag, chunks: prepared.chunks.map { ChunkReference(tag: $0.tag, size: $0.count) }))
            for chunk in prepared.chunks where begin.missing.contains(chunk.tag) {
                try await mallory.api.putChunk(session: begin.id, tag: chunk.tag.hex, chunk)
            }
            // Sealed by alice (as if mallory replayed one of her seals), or over another size.
            var foreign = try alice.entryCommit(name: "m.jpg", encoded: prepared.encoded, attributes: [], attributeWrappedKey: [])
            foreign.ownerWrappedKey = try mallory.entryCommit(name: "m.jpg", encoded: prepared.encoded, attributes: [],
                                                              attributeWrappedKey: []).ownerWrappedKey
            var resized = try mallory.entryCommit(name: "m.jpg", encoded: prepared.encoded, attributes: [], attributeWrappedKey: [])
            resized.size += 1
            for hostile in [foreign, resized] {
                await expectCode("unprocessable") { try await mallory.api.commit(session: begin.id, CommitRequest(entries: [hostile])) }
            }
            try await mallory.api.commit(session: begin.id, CommitRequest(entries: [
                try mallory.entryCommit(name: "m.jpg", encoded: prepared.encoded, attributes: [], attributeWrappedKey: [])]))
        }
    }
}
