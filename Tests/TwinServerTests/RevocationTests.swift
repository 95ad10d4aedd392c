import Convergent
import Crypto
import Foundation
import KPABE
import Testing
@testable import TwinClient
import TwinProtocol

/// Issue 21's revocation that re-keys: after `revoke`, a saved key opens none of the owner's new
/// wraps, however they leak; remaining grantees read on; no file is uploaded again; and the server
/// takes new wraps only sealed by the owner, newer than the stored ones.
@Suite("Revocation that re-keys")
struct RevocationTests {
    @Test("a revoked user with a saved key and a leaked new wrap fails to decrypt; other grantees read on; nothing is re-uploaded")
    func revokedKeyOpensNoNewWrap() async throws {
        try await LiveServer.run { server in
            var alice = try await server.user("alice")
            let bob = try await server.user("bob"), carol = try await server.user("carol")
            let images = ["beach.jpg": jpegImage(seed: "beach", exif: "b"), "trip.jpg": jpegImage(seed: "trip", exif: "t"),
                          "desk.jpg": jpegImage(seed: "desk", exif: "d")]
            let attributes = ["beach.jpg": ["family"], "trip.jpg": ["family", "2026"], "desk.jpg": ["work"]]
            for (name, bytes) in images.sorted(by: { $0.key < $1.key }) {
                _ = try await alice.upload(path: try server.file(name, bytes), name: name, attributes: attributes[name]!)
            }
            try await alice.grant("bob", policy: "family")
            try await alice.grant("carol", policy: "family or work")
            #expect(try await server.download(bob, owner: "alice", "beach.jpg") == images["beach.jpg"])
            // Bob keeps his KP-ABE key, as a revoked user who planned ahead would.
            let bobsGrant = try #require(try await bob.receivedGrants().first { $0.owner == "alice" })
            let savedKey = try bob.keyring.openGrant(bobsGrant.sealedKey, from: alice.keyring.publicKeys, policy: bobsGrant.policy)
            let before = try await alice.entries()
            let storedBefore = try await server.store.statistics()
            let blobsBefore = try await server.blobCount()

            let report = try await alice.revoke("bob") { _ in }
            #expect(report.revoked == "bob" && report.raised == ["family": 1])
            #expect(report.rewrapped == 2, "the two family entries, not desk.jpg")
            #expect(report.regranted == ["carol"] && report.unsealed.isEmpty)
            #expect(try await alice.issuedGrants().map(\.grantee) == ["carol"])
            let after = Dictionary(uniqueKeysWithValues: try await alice.entries().map { ($0.name, $0) })
            for entry in before {
                let changed = after[entry.name]!.attributeWrappedKey != entry.attributeWrappedKey
                #expect(changed == (entry.name != "desk.jpg"), "\(entry.name)")
                #expect(after[entry.name]!.fileTag == entry.fileTag)
            }
            // No chunk, file or blob was added: only keys changed.
            let storedAfter = try await server.store.statistics()
            #expect(storedAfter.storedBytes == storedBefore.storedBytes && storedAfter.chunks == storedBefore.chunks
                    && storedAfter.files == storedBefore.files)
            #expect(try await server.blobCount() == blobsBefore)

            // The server stops serving bob; the new wraps, leaked by carol, do not open under his saved key.
            await expectAccessDenied { _ = try await server.download(bob, owner: "alice", "beach.jpg") }
            for name in ["beach.jpg", "trip.jpg"] {
                let leaked = try await carol.api.entry(owner: "alice", name: name)
                #expect(throws: KPABEError.policyNotSatisfied) {
                    _ = try WrappedKey(decoding: Array(leaked.attributeWrappedKey)).unwrap(with: savedKey, context: leaked.fileTag.bytes)
                }
            }
            // Carol's re-issued key reads everything, old and new.
            for (name, bytes) in images { #expect(try await server.download(carol, owner: "alice", name) == bytes, "\(name)") }
            let later = jpegImage(seed: "later", exif: "l")
            _ = try await alice.upload(path: try server.file("later.jpg", later), name: "later.jpg", attributes: ["family"])
            let newEntry = try await carol.api.entry(owner: "alice", name: "later.jpg")
            #expect(throws: KPABEError.policyNotSatisfied) {
                _ = try WrappedKey(decoding: Array(newEntry.attributeWrappedKey)).unwrap(with: savedKey, context: newEntry.fileTag.bytes)
            }
            #expect(try await server.download(carol, owner: "alice", "later.jpg") == later)
            #expect(try await server.download(alice, "trip.jpg") == images["trip.jpg"])

            // Re-keying again finds nothing stale; revoking bob again is refused with a clear error.
            #expect(try await alice.rekey { _ in }.rewrapped == 0)
            await #expect(throws: TwinClientError.self) { _ = try await alice.revoke("bob") { _ in } }
        }
    }

    @Test("a copy of the keyring from before a revocation catches up from its entries and wraps new uploads at the new versions")
    func staleKeyringCatchesUp() async throws {
        try await LiveServer.run { server in
            var alice = try await server.user("alice")
            let bob = try await server.user("bob")
            _ = try await alice.upload(path: try server.file("a.jpg", jpegImage(seed: "a", exif: "a")), name: "a.jpg", attributes: ["family"])
            try await alice.grant("bob", policy: "family")
            let bobsGrant = try #require(try await bob.receivedGrants().first)
            let savedKey = try bob.keyring.openGrant(bobsGrant.sealedKey, from: alice.keyring.publicKeys, policy: bobsGrant.policy)
            var stale = try await TwinSession(keyring: alice.keyring, knownKeys: KnownKeys(file: nil))
            var saved: Keyring?
            _ = try await alice.revoke("bob") { _ in }

            let report = try await stale.rekey { saved = $0 }
            #expect(report.rewrapped == 0 && saved?.attributeVersions == ["family": 1] && stale.keyring.attributeVersions == ["family": 1])
            _ = try await stale.upload(path: try server.file("b.jpg", jpegImage(seed: "b", exif: "b")), name: "b.jpg", attributes: ["family"])
            let entry = try await stale.api.entry(owner: "alice", name: "b.jpg")
            #expect(throws: KPABEError.policyNotSatisfied) {
                _ = try WrappedKey(decoding: Array(entry.attributeWrappedKey)).unwrap(with: savedKey, context: entry.fileTag.bytes)
            }
        }
    }

    @Test("the server takes new keys only for the caller's own entries, sealed by them, newer than stored, under the entry's attributes")
    func hostileRekeysAreRefused() async throws {
        try await LiveServer.run { server in
            let alice = try await server.user("alice"), mallory = try await server.user("mallory")
            _ = try await alice.upload(path: try server.file("a.jpg", jpegImage(seed: "h", exif: "a")), name: "a.jpg", attributes: ["family"])
            let stored = try await alice.api.entry(owner: "alice", name: "a.jpg")
            let fileKey = try alice.keyring.unwrapForOwner(try #require(stored.ownerWrappedKey), name: "a.jpg", fileTag: stored.fileTag.bytes)
            let parameters = try PublicParameters(decoding: Array(alice.keyring.authorityParameters))
            func wrap(_ attributes: [String]) throws -> [UInt8] {
                try AttributeKeyWrapper(attributes: attributes, parameters: parameters)
                    .wrap(fileKey.withUnsafeBytes { Array($0) }, context: stored.fileTag.bytes).encoded()
            }
            func request(_ wrapped: [UInt8], signer: Curve25519.Signing.PrivateKey = alice.keyring.signing,
                         version: UInt64 = UInt64(Date().timeIntervalSince1970 * 1000) + 1, name: String = "a.jpg") throws -> EntryKeysRequest {
                let fields = EntrySeal.Fields(owner: "alice", name: "a.jpg", fileTag: stored.fileTag, attributes: ["family"],
                                              attributeWrappedKey: wrapped, mediaType: stored.mediaType, size: stored.size)
                return EntryKeysRequest(entries: [.init(name: name, attributeWrappedKey: Data(wrapped),
                                                        ownerSeal: Data(try EntrySeal(sealing: fields, version: version, with: signer).encoded()))])
            }
            let fresh = try wrap(["family#1"])
            // Another owner's entries, a seal by someone else, the stored seal replayed (a rollback),
            // a wrap under other attributes or versions written wrongly, a missing entry, too many.
            await expectCode("access_denied") { try await mallory.api.updateEntryKeys(owner: "alice", try request(fresh, signer: mallory.keyring.signing)) }
            await expectCode("unprocessable") { try await alice.api.updateEntryKeys(owner: "alice", try request(fresh, signer: mallory.keyring.signing)) }
            await expectCode("unprocessable") {
                try await alice.api.updateEntryKeys(owner: "alice", EntryKeysRequest(entries: [
                    .init(name: "a.jpg", attributeWrappedKey: stored.attributeWrappedKey, ownerSeal: stored.ownerSeal)]))
            }
            for attributes in [["work"], ["family#01"], ["family#0"], ["family", "family#1"]] {
                await expectCode("unprocessable") { try await alice.api.updateEntryKeys(owner: "alice", try request(try wrap(attributes))) }
            }
            await expectCode("not_found") { try await alice.api.updateEntryKeys(owner: "alice", try request(fresh, name: "b.jpg")) }
            let many = try request(fresh).entries[0]
            await expectCode("bad_request") {
                try await alice.api.updateEntryKeys(owner: "alice", EntryKeysRequest(entries: Array(repeating: many, count: EntryKeysRequest.maximumEntries + 1)))
            }
            #expect(try await alice.api.entry(owner: "alice", name: "a.jpg").ownerSeal == stored.ownerSeal, "every refusal changed nothing")

            let accepted = try request(fresh)
            try await alice.api.updateEntryKeys(owner: "alice", accepted)
            #expect(try await alice.api.entry(owner: "alice", name: "a.jpg").attributeWrappedKey == Data(fresh))
            // The same request again is a replay of a seal no longer newer.
            await expectCode("unprocessable") { try await alice.api.updateEntryKeys(owner: "alice", accepted) }
            // Attributes with '#' are refused at upload and in grants.
            await #expect(throws: TwinClientError.self) {
                _ = try await alice.upload(path: try server.file("c.jpg", jpegImage(seed: "c", exif: "c")), name: "c.jpg", attributes: ["a#1"])
            }
            await #expect(throws: TwinClientError.self) { try await alice.grant("mallory", policy: "family#1") }
        }
    }
}
