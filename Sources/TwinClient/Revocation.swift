import Foundation
import KPABE
import TwinProtocol

/// Revocation that re-keys (`AttributeVersion`). Revoking a grantee raises the version of every
/// attribute their policy names, has the server drop their grant, re-wraps the file key of every
/// own entry that carries a raised attribute (from the owner's own wrap: nothing is uploaded again),
/// and issues every remaining grantee whose policy names a raised attribute a key for the new
/// versions. The revoked key has leaves only for the old versions, so it opens no new wrap, however
/// the wrap reaches its holder.
extension TwinSession {
    public struct RevocationReport: Sendable, Codable {
        /// The grantee revoked (nil for a `rekey` alone).
        public var revoked: String?
        /// The attributes raised, with their new versions.
        public var raised: [String: Int] = [:]
        /// Entries given a new wrap.
        public var rewrapped = 0
        /// Grantees issued a key for the new versions.
        public var regranted: [String] = []
        /// Own entries left alone because their seal does not verify under this user's key: not
        /// made by this user, so never re-sealed by them.
        public var unsealed: [String] = []
    }

    /// The grants this user issued, sorted by grantee.
    public func issuedGrants() async throws -> [GrantResponse] { try await api.issuedGrants() }
    /// The grants this user received, sorted by owner.
    public func receivedGrants() async throws -> [GrantResponse] { try await api.grants() }

    /// Withdraws `grantee`'s grant and re-keys what it could read. The raised versions are handed to
    /// `saveKeyring` before anything else changes; a run cut short after that is finished by `rekey`.
    public mutating func revoke(_ grantee: String, saveKeyring: (Keyring) throws -> Void) async throws -> RevocationReport {
        let issued = try await api.issuedGrants()
        guard let grant = issued.first(where: { $0.grantee == grantee }) else {
            throw TwinClientError.invalidArgument("\(keyring.user) has no grant to \(grantee) (see 'twin grants')")
        }
        var raised: [String: Int] = [:]
        for attribute in Set(try PolicyParser.parse(grant.policy).leaves) { raised[attribute] = keyring.raiseVersion(of: attribute) }
        try saveKeyring(keyring)
        try await api.revokeGrant(grantee: grantee)
        var report = try await rekey(regranting: issued.filter { $0.grantee != grantee }, raised: Set(raised.keys), saveKeyring: saveKeyring)
        (report.revoked, report.raised) = (grantee, raised)
        return report
    }

    /// Brings every own entry's wrap to the keyring's attribute versions, after taking up higher
    /// versions found in the entries themselves (another copy of the keyring revoked someone), and
    /// re-issues every grant whose policy names a raised attribute. Idempotent.
    public mutating func rekey(saveKeyring: (Keyring) throws -> Void) async throws -> RevocationReport {
        try await rekey(regranting: try await api.issuedGrants(), raised: nil, saveKeyring: saveKeyring)
    }

    /// `raised` nil: re-issue the grants that name any attribute above version 0.
    private mutating func rekey(regranting grants: [GrantResponse], raised: Set<String>?,
                                saveKeyring: (Keyring) throws -> Void) async throws -> RevocationReport {
        var report = RevocationReport()
        let entries = try await api.entries()
        let capsules = CapsuleCache(capacityBytes: 16 << 20)
        var wraps: [String: WrappedKey] = [:]
        var seen: [String: Int] = [:]
        for entry in entries where !entry.attributeWrappedKey.isEmpty {
            guard let wrapped = try? WrappedKey(decoding: Array(entry.attributeWrappedKey), capsules: capsules) else {
                report.unsealed.append(entry.name)
                continue
            }
            capsules.remember(wrapped)
            wraps[entry.name] = wrapped
            for case let (attribute, version)? in wrapped.attributes.map(AttributeVersion.parse) {
                seen[attribute] = max(seen[attribute] ?? 0, version)
            }
        }
        if keyring.catchUp(to: seen) { try saveKeyring(keyring) }

        let ownKey = keyring.signing.publicKey
        var updates: [EntryKeysRequest.Entry] = []
        for entry in entries {
            guard let wrapped = wraps[entry.name] else { continue }
            let target = keyring.capsuleAttributes(entry.attributes)
            guard Set(wrapped.attributes) != Set(target) else { continue }
            var fields = EntrySeal.Fields(owner: keyring.user, name: entry.name, fileTag: entry.fileTag, attributes: entry.attributes,
                                          attributeWrappedKey: Array(entry.attributeWrappedKey), mediaType: entry.mediaType, size: entry.size)
            // Only what this user sealed is re-sealed: the server cannot have a forged entry signed.
            guard entry.owner == keyring.user, let old = EntrySeal(decoding: entry.ownerSeal), old.isValid(for: fields, ownerKey: ownKey),
                  let ownerWrapped = entry.ownerWrappedKey,
                  let fileKey = try? keyring.unwrapForOwner(ownerWrapped, name: entry.name, fileTag: entry.fileTag.bytes) else {
                report.unsealed.append(entry.name)
                continue
            }
            fields.attributeWrappedKey = try attributeWrappers.wrapper(for: target)
                .wrap(fileKey.withUnsafeBytes { Array($0) }, context: entry.fileTag.bytes).encoded()
            let version = max(UInt64(max(0, Date().timeIntervalSince1970 * 1000)), old.version + 1)
            let seal = try EntrySeal(sealing: fields, version: version, with: keyring.signing)
            updates.append(EntryKeysRequest.Entry(name: entry.name, attributeWrappedKey: Data(fields.attributeWrappedKey),
                                                  ownerSeal: Data(seal.encoded())))
        }
        for start in stride(from: 0, to: updates.count, by: EntryKeysRequest.maximumEntries) {
            let batch = Array(updates[start..<min(start + EntryKeysRequest.maximumEntries, updates.count)])
            try await api.updateEntryKeys(owner: keyring.user, EntryKeysRequest(entries: batch))
            report.rewrapped += batch.count
        }

        let versioned = Set((keyring.attributeVersions ?? [:]).filter { $0.value > 0 }.keys)
        for grant in grants where !Set(try PolicyParser.parse(grant.policy).leaves).isDisjoint(with: raised ?? versioned) {
            try await self.grant(grant.grantee, policy: grant.policy)
            report.regranted.append(grant.grantee)
        }
        return report
    }
}
