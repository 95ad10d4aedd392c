import Foundation
import KPABE
import Testing
@testable import TwinClient

/// Grants are HPKE Auth-mode seals bound to both parties, the policy and the owner's authority.
@Suite("Grant sealing")
struct GrantSealingTests {
    let alice = Keyring.generate(user: "alice", server: "http://a")
    let bob = Keyring.generate(user: "bob", server: "http://a")
    let mallory = Keyring.generate(user: "mallory", server: "http://a")

    @Test("a grant opens for its grantee, from its owner, for its policy; anything else is refused")
    func grantsAreBound() throws {
        let key = try KPABE.keyGen(try alice.master, policy: try PolicyParser.parse("family"))
        let sealed = try alice.sealGrant(key, policy: "family", to: bob.publicKeys)
        #expect(try bob.openGrant(sealed, from: alice.publicKeys, policy: "family").encoded() == key.encoded())

        // Another policy than the one sealed (a server relabelling the grant), another recipient,
        // another claimed owner, or the owner's authority swapped: none opens.
        #expect(throws: TwinClientError.self) { try bob.openGrant(sealed, from: alice.publicKeys, policy: "family or public") }
        #expect(throws: TwinClientError.self) { try mallory.openGrant(sealed, from: alice.publicKeys, policy: "family") }
        var swappedAuthority = alice.publicKeys
        swappedAuthority.authorityParameters = mallory.authorityParameters
        #expect(throws: TwinClientError.self) { try bob.openGrant(sealed, from: swappedAuthority, policy: "family") }

        // Mallory seals a key from her own authority to bob and claims it is alice's.
        let forged = try mallory.sealGrant(try KPABE.keyGen(try mallory.master, policy: try PolicyParser.parse("family")),
                                           policy: "family", to: bob.publicKeys)
        #expect(throws: TwinClientError.self) { try bob.openGrant(forged, from: alice.publicKeys, policy: "family") }
        // Truncated or flipped.
        #expect(throws: TwinClientError.self) { try bob.openGrant(sealed.prefix(32), from: alice.publicKeys, policy: "family") }
        var flipped = sealed
        flipped[flipped.count - 1] ^= 1
        #expect(throws: TwinClientError.self) { try bob.openGrant(flipped, from: alice.publicKeys, policy: "family") }
    }

    @Test("pins: first keys kept, other keys refused, trust replaces; the file survives a reload")
    func knownKeysPersist() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("twin-pins-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let pins = try KnownKeys.beside(keyring: directory)
        try pins.check(bob.publicKeys)
        try pins.check(bob.publicKeys)
        var swapped = bob.publicKeys
        swapped.agreementKey = mallory.agreementPublicKey
        #expect(throws: TwinClientError.self) { try pins.check(swapped) }
        #expect(swapped.fingerprint != bob.publicKeys.fingerprint)
        #expect(bob.publicKeys.fingerprint.split(separator: " ").count == 16)

        let reloaded = try KnownKeys.beside(keyring: directory)
        #expect(reloaded.pinned("bob") == bob.publicKeys)
        #expect(throws: TwinClientError.self) { try reloaded.check(swapped) }
        try reloaded.trust(swapped)
        #expect(try KnownKeys.beside(keyring: directory).pinned("bob") == swapped)
        let mode = try FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent("known_keys.json").path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }
}
