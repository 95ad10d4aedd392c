/// Attribute versions: how revoking a grantee re-keys an owner's entries without uploading them again.
///
/// Entries, grant policies and the server's own policy check use plain attributes (`family`). The
/// KP-ABE capsule that wraps an entry's key, and the KP-ABE keys an owner grants, use *versioned*
/// attributes: `family` at version 0 is `family`, at version 3 it is `family#3`. Revoking a grantee
/// raises the version of every attribute in their policy; the owner then re-wraps the entries that
/// carry one of those attributes and grants the remaining grantees keys for the new versions. A
/// revoked key has leaves only for the old versions, so it opens none of the new wraps, wherever
/// they leak from. Plain attributes therefore may not contain `#`.
public enum AttributeVersion {
    public static let separator: Character = "#"
    /// The longest plain attribute, in UTF-8 bytes: room for `#` and a version of up to ten digits
    /// within KP-ABE's 255-byte attributes.
    public static let maximumAttributeLength = 240
    public static let maximumVersion = 999_999_999

    /// A plain attribute: 1–240 bytes of UTF-8 without `#`.
    public static func isValid(_ attribute: String) -> Bool {
        (1...maximumAttributeLength).contains(attribute.utf8.count) && !attribute.contains(separator)
    }

    /// The capsule and key form of `attribute` at `version` (0: the plain name itself).
    public static func versioned(_ attribute: String, _ version: Int) -> String {
        version == 0 ? attribute : "\(attribute)\(separator)\(version)"
    }

    /// The plain attribute and version a capsule attribute stands for; nil unless it is exactly
    /// what `versioned` makes of a valid attribute (one form per version: no `#0`, no leading zeros).
    public static func parse(_ capsuleAttribute: String) -> (attribute: String, version: Int)? {
        guard let mark = capsuleAttribute.lastIndex(of: separator) else {
            return isValid(capsuleAttribute) ? (capsuleAttribute, 0) : nil
        }
        let plain = String(capsuleAttribute[..<mark]), digits = capsuleAttribute[capsuleAttribute.index(after: mark)...]
        guard isValid(plain), let first = digits.first, first != "0", digits.count <= 9,
              digits.allSatisfy({ ("0"..."9").contains($0) }), let version = Int(digits) else { return nil }
        return (plain, version)
    }

    /// Whether `capsuleAttributes` (a capsule's, as decoded) are exactly `attributes` (an entry's,
    /// normalized), each at some version.
    public static func capsule(_ capsuleAttributes: [String], matches attributes: [String]) -> Bool {
        let parsed = capsuleAttributes.compactMap(parse)
        return parsed.count == capsuleAttributes.count && capsuleAttributes.count == attributes.count
            && TwinProtocol.normalizedAttributes(parsed.map(\.attribute)) == attributes
    }
}
