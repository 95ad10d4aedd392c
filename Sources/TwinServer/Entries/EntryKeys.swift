import Crypto
import Foundation
import KPABE
import TwinProtocol
import TwinStorage

/// What an owner signs into an entry, checked alike when the entry is committed and when it is
/// re-keyed: the seal verifies under the owner's registered key, and the attribute-wrapped key is
/// KP-ABE for the owner's own authority under exactly the entry's attributes, each at some version
/// (`AttributeVersion`). The server can open neither; it checks them so that a store only ever
/// holds entries their owner made, and readers are not the only line.
struct EntryKeyCheck {
    let owner: UserRecord
    let ownerKey: Curve25519.Signing.PublicKey
    let capsules: CapsuleCache
    private var authority: AuthorityID?

    /// Nil when the owner's registered signing key does not decode.
    init?(owner: UserRecord, capsules: CapsuleCache) {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: owner.signingKey) else { return nil }
        (self.owner, ownerKey, self.capsules) = (owner, key, capsules)
    }

    /// The seal, if it verifies for `fields`; `.unprocessable` otherwise.
    func seal(_ encoded: some DataProtocol, for fields: EntrySeal.Fields) throws(UploadError) -> EntrySeal {
        guard let seal = EntrySeal(decoding: encoded), seal.isValid(for: fields, ownerKey: ownerKey) else {
            throw .unprocessable("the owner's seal of \(fields.name) does not verify")
        }
        return seal
    }

    /// Checks an attribute-wrapped key (empty: the entry has no attributes and no wrap).
    mutating func checkWrap(_ wrappedKey: [UInt8], attributes: [String], name: String) throws(UploadError) {
        guard !wrappedKey.isEmpty else {
            guard attributes.isEmpty else { throw .unprocessable("\(name) has attributes but no attribute-wrapped key") }
            return
        }
        guard let wrapped = try? WrappedKey(decoding: wrappedKey, capsules: capsules),
              AttributeVersion.capsule(wrapped.attributes, matches: attributes) else {
            throw .unprocessable("attributeWrappedKey of \(name) is not a key wrapped by KP-ABE under the entry's attributes")
        }
        if authority == nil {
            guard let decoded = try? PublicParameters.authority(ofEncoded: owner.authorityParameters) else {
                throw .unprocessable("the owner's authority parameters do not decode")
            }
            authority = decoded
        }
        guard wrapped.capsule.authority == authority else {
            throw .unprocessable("attributeWrappedKey of \(name) is not wrapped for the owner's authority")
        }
        capsules.remember(wrapped)
    }
}

/// Re-keying: an owner replaces the attribute-wrapped keys (and seals) of entries already stored,
/// after revoking a grantee, without sending any file again. Each new seal must verify over the
/// stored entry with the new wrap, and be newer than the stored seal, so that neither the server
/// nor a replay can roll an entry back to a wrap a revoked key opens.
struct EntryKeysService: Sendable {
    let store: any MetadataStore
    /// Capsules validated already: a re-key wraps many entries under one capsule per attribute set.
    let capsules = CapsuleCache()

    func rekey(_ entries: [EntryKeysRequest.Entry], owner: String) async throws {
        guard (1...EntryKeysRequest.maximumEntries).contains(entries.count) else {
            throw UploadError.invalid("1 to \(EntryKeysRequest.maximumEntries) entries per request")
        }
        guard Set(entries.map(\.name)).count == entries.count else { throw UploadError.invalid("an entry is named twice") }
        guard let user = try await store.user(named: owner), var check = EntryKeyCheck(owner: user, capsules: capsules) else {
            throw UploadError.unprocessable("\(owner)'s registered keys do not decode")
        }
        var updates: [EntryKeyUpdate] = []
        for entry in entries {
            guard let stored = try await store.entry(owner: owner, name: entry.name) else {
                throw MetadataStoreError.notFound(.entry(owner: owner, name: entry.name))
            }
            let wrapped = Array(entry.attributeWrappedKey)
            try check.checkWrap(wrapped, attributes: stored.attributes, name: entry.name)
            let seal = try check.seal(entry.ownerSeal, for: EntrySeal.Fields(
                owner: owner, name: entry.name, fileTag: stored.fileTag, attributes: stored.attributes, attributeWrappedKey: wrapped,
                mediaType: stored.mediaType, size: stored.size))
            guard seal.version > EntrySeal(decoding: stored.ownerSeal)?.version ?? 0 else {
                throw UploadError.unprocessable("the new seal of \(entry.name) is not newer than the stored one")
            }
            updates.append(EntryKeyUpdate(name: entry.name, previousSeal: stored.ownerSeal, attributeWrappedKey: wrapped,
                                          ownerSeal: Array(entry.ownerSeal)))
        }
        do {
            try await store.updateEntryKeys(owner: owner, updates)
        } catch MetadataStoreError.conflict(let what) {
            throw UploadError.changed("\(what) changed while it was re-keyed; read it and re-key it again")
        }
    }
}
