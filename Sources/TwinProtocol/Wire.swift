import BinaryCoding
import Convergent
import Foundation

/// # TwinProtocol
///
/// The HTTP/JSON API between `twin` clients and `twin serve`, as Swift types: request and response
/// bodies, error codes and the exact bytes that get signed. Server and client both compile against
/// this module, so they cannot drift apart; `openapi.yaml` documents the same shapes for others.
/// Binary fields travel as standard base64; tags as 64 hex digits, and the upload protocol's long
/// lists of them as one string of such digits run together (`TagList`).
public enum TwinProtocol {
    public static let apiPrefix = "/v1"

    /// The JSON coders both sides use: ISO 8601 dates, base64 data, sorted keys.
    public static func makeEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }

    public static func makeDecoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }

    /// The longest entry name, in Unicode scalars (as JSON Schema's maxLength counts).
    public static let maximumNameLength = 1024

    /// Entry names: 1–1024 Unicode scalars, a path of folders and a file name joined by '/' (the
    /// folders a client uploaded from: `trip/2026/beach.jpg`). No component is empty or starts with
    /// a dot (so no "." or ".." and nothing hidden) but a leading `.thumbnails`, and there are no
    /// control characters: a name written under a download folder stays inside it.
    /// The one first part of a name that may start with a dot: the folder of thumbnail entries,
    /// which clients make beside images and no uploaded file can be named into.
    public static let thumbnailFolder = ".thumbnails"

    public static func isValidName(_ name: String) -> Bool {
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        return (1...maximumNameLength).contains(name.unicodeScalars.count)
            && parts.enumerated().allSatisfy { position, part in
                !part.isEmpty && (!part.hasPrefix(".") || (position == 0 && part == thumbnailFolder && parts.count > 1))
            }
            && !name.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }

    /// An entry's attributes as stored and sealed: each once, in byte order.
    public static func normalizedAttributes(_ attributes: [String]) -> [String] {
        Array(Set(attributes)).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// User names: 1–64 of [A-Za-z0-9_.-], starting with a letter or digit.
    public static func isValidUserName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, (1...64).contains(name.unicodeScalars.count),
              first.properties.isAlphabetic || ("0"..."9").contains(first) else { return false }
        return name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "_.-".unicodeScalars.contains($0)) }
    }
}

/// Every error body: `{"error": {"code": "...", "message": "..."}}`. Codes are stable; messages are for people.
public struct ErrorBody: Codable, Sendable {
    public struct Detail: Codable, Sendable {
        public var code: String
        public var message: String
    }
    public var error: Detail

    public init(code: String, message: String) { error = Detail(code: code, message: message) }
}

/// What a server publishes about itself (`GET /v1/server`): its identity, which registration and
/// login signatures name (every node of one store has the same one), and its key server, if any:
/// clients then derive chunk keys through it (`KeyServerInfo`).
public struct ServerInfoResponse: Codable, Sendable, Equatable {
    public var id: Data
    public var keyServer: KeyServerInfo?
    public init(id: Data, keyServer: KeyServerInfo? = nil) {
        self.id = id
        self.keyServer = keyServer
    }
}

/// Where and under which key a server's users have chunk keys evaluated (`POST /v1/keys`).
public struct KeyServerInfo: Codable, Sendable, Equatable {
    /// `embedded`: inside `twin serve`, at its own URL; `separate`: a `twin keyserver` at `url`.
    public var mode: String
    public var url: String?
    /// The key server's RSA public key (SubjectPublicKeyInfo DER), which clients pin.
    public var publicKey: Data
    /// Evaluations a user may ask for at once, and per hour after that.
    public var burst: Int
    public var perHour: Int
    public init(mode: String, url: String?, publicKey: Data, burst: Int, perHour: Int) {
        self.mode = mode
        self.url = url
        self.publicKey = publicKey
        self.burst = burst
        self.perHour = perHour
    }
}

/// Blinded key-unit messages to evaluate: 1 to `maximumElements`, each the key's modulus size.
public struct KeyEvaluationRequest: Codable, Sendable {
    public static let maximumElements = 256
    public var elements: [Data]
    public init(elements: [Data]) { self.elements = elements }
}

/// One evaluation per element, in order, under the key named by `keyID` (SHA-256 of its DER).
public struct KeyEvaluationResponse: Codable, Sendable {
    public var keyID: Data
    public var evaluations: [Data]
    public init(keyID: Data, evaluations: [Data]) {
        self.keyID = keyID
        self.evaluations = evaluations
    }
}

public struct RegisterRequest: Codable, Sendable {
    public var name: String
    public var signingKey: Data
    public var agreementKey: Data
    public var authorityParameters: Data
    public var signature: Data

    public init(name: String, signingKey: Data, agreementKey: Data, authorityParameters: Data, signature: Data) {
        self.name = name
        self.signingKey = signingKey
        self.agreementKey = agreementKey
        self.authorityParameters = authorityParameters
        self.signature = signature
    }
}

public struct UserResponse: Codable, Sendable, Equatable {
    public var name: String
    public var signingKey: Data
    public var agreementKey: Data
    public var authorityParameters: Data

    public init(name: String, signingKey: Data, agreementKey: Data, authorityParameters: Data) {
        self.name = name
        self.signingKey = signingKey
        self.agreementKey = agreementKey
        self.authorityParameters = authorityParameters
    }
}

public struct LoginChallengeRequest: Codable, Sendable {
    public var user: String
    public init(user: String) { self.user = user }
}

public struct LoginChallengeResponse: Codable, Sendable {
    public var nonce: Data
    public var expiresAt: Date
    public init(nonce: Data, expiresAt: Date) {
        self.nonce = nonce
        self.expiresAt = expiresAt
    }
}

public struct TokenRequest: Codable, Sendable {
    public var user: String
    public var nonce: Data
    public var signature: Data
    public init(user: String, nonce: Data, signature: Data) {
        self.user = user
        self.nonce = nonce
        self.signature = signature
    }
}

public struct TokenResponse: Codable, Sendable {
    public var token: String
    public var expiresAt: Date
    public init(token: String, expiresAt: Date) {
        self.token = token
        self.expiresAt = expiresAt
    }
}

/// One file of an upload: its tag and its chunk list, in file order.
///
/// In JSON the chunk list is two parallel fields, `chunkTags` (every tag's 64 hex digits, run
/// together; see `TagList`) and `chunkSizes`, not an array of objects: a begin announces thousands
/// of chunks, and an object per chunk would cost a container and its keys apiece.
public struct FileAnnouncement: Codable, Sendable, Equatable {
    public var fileTag: Tag
    public var chunks: [ChunkReference]
    public init(fileTag: Tag, chunks: [ChunkReference]) {
        self.fileTag = fileTag
        self.chunks = chunks
    }

    private enum CodingKeys: String, CodingKey {
        case fileTag, chunkTags, chunkSizes
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        fileTag = try container.decode(Tag.self, forKey: .fileTag)
        let tags = try TagList.decode(container, forKey: .chunkTags)
        chunks = try container.decode(Int.self, alongside: tags, forKey: .chunkSizes, naming: ("chunk sizes", "chunk tags"))
            .map { ChunkReference(tag: $0, size: $1) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(fileTag, forKey: .fileTag)
        try container.encode(TagList.encode(chunks.map(\.tag)), forKey: .chunkTags)
        try container.encode(chunks.map(\.size), forKey: .chunkSizes)
    }
}

/// Two lists that travel side by side (a chunk list's tags and sizes) are of different lengths:
/// well-formed JSON that no schema can refuse, so the server answers 422, not 400.
public struct ParallelListMismatch: Error, CustomStringConvertible, Sendable {
    public var description: String
}

extension KeyedDecodingContainer {
    /// The array under `key`, paired element by element with `first`, which travels beside it (the
    /// upload protocol's parallel arrays); refused unless the two are equally long. `naming` names
    /// the two in the error: (this array's elements, `first`'s).
    fileprivate func decode<First, Element: Decodable>(_ type: Element.Type, alongside first: [First], forKey key: Key,
                                                       naming: (String, String)) throws -> [(First, Element)] {
        let elements = try decode([Element].self, forKey: key)
        guard elements.count == first.count else {
            throw ParallelListMismatch(description: "\(elements.count) \(naming.0) for \(first.count) \(naming.1)")
        }
        return Array(zip(first, elements))
    }
}

/// A list of tags as one JSON string: each tag's 64 hex digits, one after the other (the empty
/// string for none). Lists in the upload protocol run to thousands of tags, and a string each cost a
/// JSON value, a container and a hex decoding apiece.
public enum TagList {
    public static func encode(_ tags: [Tag]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(tags.count * 32)
        for tag in tags { tag.withUnsafeBytes { bytes.append(contentsOf: $0) } }
        return bytes.hexString
    }

    /// The tags of `text`, or nil unless it is hex digits, 64 per tag.
    public static func decode(_ text: String) -> [Tag]? {
        guard text.utf8.count % 64 == 0, let bytes = [UInt8](hexString: text) else { return nil }
        return stride(from: 0, to: bytes.count, by: 32).map { Tag(bytes: bytes[$0..<($0 + 32)])! }
    }

    static func decode<Key: CodingKey>(_ container: KeyedDecodingContainer<Key>, forKey key: Key) throws -> [Tag] {
        guard let tags = decode(try container.decode(String.self, forKey: key)) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "expected 64 hex digits per tag")
        }
        return tags
    }
}

/// Tags first: the files of one upload session (1 to `maximumFiles`). A client sends a folder in a
/// few such batches, so the server spends one session, one proof and one commit per batch.
public struct BeginUploadRequest: Codable, Sendable {
    public static let maximumFiles = 1024
    public var files: [FileAnnouncement]
    public init(files: [FileAnnouncement]) { self.files = files }
    public init(fileTag: Tag, chunks: [ChunkReference]) {
        self.init(files: [FileAnnouncement(fileTag: fileTag, chunks: chunks)])
    }
}

/// In JSON the leaves are two parallel integer arrays, `chunks` and `leaves` (the i-th leaf is
/// `leaves[i]` of chunk `chunks[i]`), not an array of objects: hundreds of leaves per begin, and
/// an object per leaf would cost a container and its keys apiece.
public struct ChallengeDescriptor: Codable, Sendable {
    public struct Leaf: Codable, Sendable {
        /// Position in the announced chunk lists, concatenated in file order.
        public var chunk: Int
        public var leaf: Int
        public init(chunk: Int, leaf: Int) {
            self.chunk = chunk
            self.leaf = leaf
        }
    }
    public var id: Tag
    public var leaves: [Leaf]
    public var expiresAt: Date
    public init(id: Tag, leaves: [Leaf], expiresAt: Date) {
        self.id = id
        self.leaves = leaves
        self.expiresAt = expiresAt
    }

    private enum CodingKeys: String, CodingKey {
        case id, chunks, leaves, expiresAt
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(Tag.self, forKey: .id)
        expiresAt = try container.decode(Date.self, forKey: .expiresAt)
        let chunks = try container.decode([Int].self, forKey: .chunks)
        leaves = try container.decode(Int.self, alongside: chunks, forKey: .leaves, naming: ("leaves", "chunks"))
            .map { Leaf(chunk: $0, leaf: $1) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(leaves.map(\.chunk), forKey: .chunks)
        try container.encode(leaves.map(\.leaf), forKey: .leaves)
        try container.encode(expiresAt, forKey: .expiresAt)
    }
}

public struct BeginUploadResponse: Codable, Sendable {
    public var id: String
    /// Tags the server lacks, each once across the session's files: upload these.
    public var missing: [Tag]
    /// Per announced file, in order: whether the server already stores this exact image.
    public var fileExists: [Bool]
    /// Present when the server holds some of the chunks: prove you hold them too. Every file with
    /// such chunks gets its own full set of leaves, so holding one file of a batch proves nothing
    /// about another.
    public var challenge: ChallengeDescriptor?
    public var expiresAt: Date
    public init(id: String, missing: [Tag], fileExists: [Bool], challenge: ChallengeDescriptor?, expiresAt: Date) {
        self.id = id
        self.missing = missing
        self.fileExists = fileExists
        self.challenge = challenge
        self.expiresAt = expiresAt
    }

    /// `missing` travels as a `TagList` string.
    private enum CodingKeys: String, CodingKey {
        case id, missing, fileExists, challenge, expiresAt
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        missing = try TagList.decode(container, forKey: .missing)
        fileExists = try container.decode([Bool].self, forKey: .fileExists)
        challenge = try container.decodeIfPresent(ChallengeDescriptor.self, forKey: .challenge)
        expiresAt = try container.decode(Date.self, forKey: .expiresAt)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(TagList.encode(missing), forKey: .missing)
        try container.encode(fileExists, forKey: .fileExists)
        try container.encodeIfPresent(challenge, forKey: .challenge)
        try container.encode(expiresAt, forKey: .expiresAt)
    }
}

/// One entry of a commit: what names the announced file at the same position.
public struct EntryCommit: Codable, Sendable {
    public var name: String
    public var attributes: [String]
    public var attributeWrappedKey: Data
    public var ownerWrappedKey: Data
    public var sealedManifest: Data
    public var mediaType: String
    public var size: Int
    /// The owner's `EntrySeal` over this entry (72 bytes).
    public var ownerSeal: Data
    /// Set when the entry replaces the owner's entry of the same name: the file tag that entry must
    /// still name. The old entry goes in the commit's own transaction, so an upload that fails or is
    /// cut off leaves it in place; a commit whose entry is gone (`not_found`) or names another file
    /// since (`conflict`) changes nothing. Absent: the name must be free.
    public var replaces: Tag?
    public init(name: String, attributes: [String], attributeWrappedKey: Data, ownerWrappedKey: Data,
                sealedManifest: Data, mediaType: String, size: Int, ownerSeal: Data, replaces: Tag? = nil) {
        self.ownerSeal = ownerSeal
        self.replaces = replaces
        self.name = name
        self.attributes = attributes
        self.attributeWrappedKey = attributeWrappedKey
        self.ownerWrappedKey = ownerWrappedKey
        self.sealedManifest = sealedManifest
        self.mediaType = mediaType
        self.size = size
    }
}

/// Names every announced file, in announcement order; all entries are added or none.
public struct CommitRequest: Codable, Sendable {
    public var entries: [EntryCommit]
    public init(entries: [EntryCommit]) { self.entries = entries }
}

/// An entry as a reader sees it. `ownerWrappedKey` only reaches the owner.
public struct EntryResponse: Codable, Sendable {
    public var owner: String
    public var name: String
    public var fileTag: Tag
    public var attributes: [String]
    public var attributeWrappedKey: Data
    public var ownerWrappedKey: Data?
    public var sealedManifest: Data?
    public var chunks: [ChunkReference]?
    public var mediaType: String
    public var size: Int
    public var createdAt: Date
    /// The owner's `EntrySeal`, as committed: readers check it against the owner's pinned key.
    public var ownerSeal: Data
    public init(owner: String, name: String, fileTag: Tag, attributes: [String], attributeWrappedKey: Data,
                ownerWrappedKey: Data?, sealedManifest: Data?, chunks: [ChunkReference]?, mediaType: String,
                size: Int, createdAt: Date, ownerSeal: Data) {
        self.ownerSeal = ownerSeal
        self.owner = owner
        self.name = name
        self.fileTag = fileTag
        self.attributes = attributes
        self.attributeWrappedKey = attributeWrappedKey
        self.ownerWrappedKey = ownerWrappedKey
        self.sealedManifest = sealedManifest
        self.chunks = chunks
        self.mediaType = mediaType
        self.size = size
        self.createdAt = createdAt
    }
}

/// One page of a listing (`GET /v1/files?prefix=P&after=CURSOR&limit=N`): entries in byte order of
/// their names. `next`, when present, is the cursor of the following page (pass it as `after`); a
/// page may hold fewer entries than asked for, even none, and still have a next one (entries the
/// caller may not read are skipped, not counted out of the page).
public struct EntryListResponse: Codable, Sendable {
    /// The most entries a page holds, and what a listing without `limit` gets.
    public static let maximumPage = 1000
    public var entries: [EntryResponse]
    public var next: String?
    public init(entries: [EntryResponse], next: String? = nil) {
        self.entries = entries
        self.next = next
    }
}

/// New keys for the caller's entries (`PATCH /v1/files/{owner}`): a re-key after a revocation.
/// Each entry gets a new attribute-wrapped key and the owner's new seal over it; the rest of the
/// entry (file, attributes, media type, size) stays as stored and is what the seal must cover.
public struct EntryKeysRequest: Codable, Sendable {
    public struct Entry: Codable, Sendable {
        public var name: String
        public var attributeWrappedKey: Data
        /// The owner's `EntrySeal`, with a version above the stored one's.
        public var ownerSeal: Data
        public init(name: String, attributeWrappedKey: Data, ownerSeal: Data) {
            self.name = name
            self.attributeWrappedKey = attributeWrappedKey
            self.ownerSeal = ownerSeal
        }
    }

    public static let maximumEntries = 1024
    public var entries: [Entry]
    public init(entries: [Entry]) { self.entries = entries }
}

public struct GrantRequest: Codable, Sendable {
    public var policy: String
    /// The KP-ABE decryption key, HPKE-sealed to the grantee: `encapsulated key (32) || ciphertext`.
    public var sealedKey: Data
    public init(policy: String, sealedKey: Data) {
        self.policy = policy
        self.sealedKey = sealedKey
    }
}

public struct GrantResponse: Codable, Sendable {
    public var owner: String
    public var grantee: String
    public var policy: String
    public var sealedKey: Data
    public var createdAt: Date
    public init(owner: String, grantee: String, policy: String, sealedKey: Data, createdAt: Date) {
        self.owner = owner
        self.grantee = grantee
        self.policy = policy
        self.sealedKey = sealedKey
        self.createdAt = createdAt
    }
}

public struct GrantListResponse: Codable, Sendable {
    public var grants: [GrantResponse]
    public init(grants: [GrantResponse]) { self.grants = grants }
}

public struct StatsResponse: Codable, Sendable {
    public var users: Int
    public var files: Int
    public var entries: Int
    public var chunks: Int
    public var logicalBytes: Int
    public var storedBytes: Int
    public var dedupRatio: Double
    public init(users: Int, files: Int, entries: Int, chunks: Int, logicalBytes: Int, storedBytes: Int, dedupRatio: Double) {
        self.users = users
        self.files = files
        self.entries = entries
        self.chunks = chunks
        self.logicalBytes = logicalBytes
        self.storedBytes = storedBytes
        self.dedupRatio = dedupRatio
    }
}

/// Stable machine-readable error codes.
public enum ErrorCode: String, Sendable, CaseIterable {
    case badRequest = "bad_request"
    /// 422: well-formed, but a key, tag, encoding or list that does not check out.
    case unprocessable = "unprocessable"
    case unauthenticated = "unauthenticated"
    case accessDenied = "access_denied"
    case notFound = "not_found"
    case conflict = "conflict"
    case tagMismatch = "tag_mismatch"
    case unexpectedChunk = "unexpected_chunk"
    case proofRequired = "proof_required"
    case proofInvalid = "proof_invalid"
    case incompleteUpload = "incomplete_upload"
    case sessionExpired = "session_expired"
    case payloadTooLarge = "payload_too_large"
    /// 429 with `Retry-After`: a per-address or per-user rate is spent.
    case rateLimited = "rate_limited"
    /// 429 with `Retry-After`: a count (open upload sessions) is at its limit.
    case limitReached = "limit_reached"
    /// 413: committing would take the user past their storage quota.
    case quotaExceeded = "quota_exceeded"
    /// 503 with `Retry-After`: the server is at capacity (chunk bundles in flight); retry.
    case busy = "busy"
    /// 405: the path exists, the method does not.
    case methodNotAllowed = "method_not_allowed"
    case corruptBlob = "corrupt_blob"
    case internalError = "internal_error"
}
