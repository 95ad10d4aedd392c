import Convergent
import Foundation

/// A registered user: the public halves of their keys.
public struct UserRecord: Sendable, Equatable {
    public var name: String
    /// Ed25519 public key (32 bytes): signs login challenges.
    public var signingKey: [UInt8]
    /// X25519 public key (32 bytes): receives HPKE-sealed grants.
    public var agreementKey: [UInt8]
    /// The user's KP-ABE authority public parameters (KPABE encoding).
    public var authorityParameters: [UInt8]
    public var createdAt: Date

    public init(name: String, signingKey: [UInt8], agreementKey: [UInt8], authorityParameters: [UInt8], createdAt: Date) {
        self.name = name
        self.signingKey = signingKey
        self.agreementKey = agreementKey
        self.authorityParameters = authorityParameters
        self.createdAt = createdAt
    }
}

/// A stored image: `C_M` and the tags of its chunks, in order (the plaintext `T_M → [t_i]` map the
/// server needs for access control and reference counting).
public struct FileRecord: Sendable, Equatable {
    public var tag: Tag
    public var sealedManifest: [UInt8]
    public var chunks: [ChunkReference]

    public init(tag: Tag, sealedManifest: [UInt8], chunks: [ChunkReference]) {
        self.tag = tag
        self.sealedManifest = sealedManifest
        self.chunks = chunks
    }

    /// What the file occupies: every chunk position's ciphertext and the sealed manifest. Each entry
    /// naming the file is charged this much against its owner's quota, shared or not, so a charge
    /// reveals nothing about what other users store.
    public var storedSize: Int { chunks.reduce(sealedManifest.count) { $0 + $1.size } }
}

/// A name in a user's namespace pointing at a stored image, with its wrapped keys.
public struct EntryRecord: Sendable, Equatable {
    public var owner: String
    public var name: String
    public var fileTag: Tag
    public var attributes: [String]
    /// `CK_M`: `K_M` wrapped by KP-ABE under `attributes` (`KPABE.WrappedKey` encoding, FORMAT.md).
    public var attributeWrappedKey: [UInt8]
    /// `K_M` wrapped for the owner alone (an AEAD under a key from the owner's keyring).
    public var ownerWrappedKey: [UInt8]
    public var mediaType: String
    /// Plaintext size in bytes.
    public var size: Int
    public var createdAt: Date
    /// The owner's seal over the entry (`TwinProtocol.EntrySeal`): kept as sent, checked by readers.
    public var ownerSeal: [UInt8]

    public init(owner: String, name: String, fileTag: Tag, attributes: [String], attributeWrappedKey: [UInt8],
                ownerWrappedKey: [UInt8], mediaType: String, size: Int, createdAt: Date, ownerSeal: [UInt8]) {
        self.ownerSeal = ownerSeal
        self.owner = owner
        self.name = name
        self.fileTag = fileTag
        self.attributes = attributes
        self.attributeWrappedKey = attributeWrappedKey
        self.ownerWrappedKey = ownerWrappedKey
        self.mediaType = mediaType
        self.size = size
        self.createdAt = createdAt
    }
}

/// A KP-ABE key the owner issued to a grantee, HPKE-sealed to the grantee's X25519 key.
public struct GrantRecord: Sendable, Equatable {
    public var owner: String
    public var grantee: String
    public var policy: String
    public var sealedKey: [UInt8]
    public var createdAt: Date

    public init(owner: String, grantee: String, policy: String, sealedKey: [UInt8], createdAt: Date) {
        self.owner = owner
        self.grantee = grantee
        self.policy = policy
        self.sealedKey = sealedKey
        self.createdAt = createdAt
    }
}

/// One file announced in an upload session: its tag and its chunks, in file order.
public struct AnnouncedFile: Sendable, Equatable {
    public var fileTag: Tag
    public var chunks: [ChunkReference]

    public init(fileTag: Tag, chunks: [ChunkReference]) {
        self.fileTag = fileTag
        self.chunks = chunks
    }
}

/// An upload in progress: the files the client announced (one or many: a batch costs the server one
/// session, one proof and one commit however many files it carries), what it still has to send, and
/// the proof of ownership it owes for what the server already held.
public struct UploadSessionRecord: Sendable, Equatable {
    public var id: String
    public var user: String
    public var files: [AnnouncedFile]
    /// Tags the client must upload (the server lacked them when the session began).
    public var missing: Set<Tag>
    /// Tags received so far.
    public var received: Set<Tag>
    /// The outstanding proof-of-ownership challenge over chunks the server already held; nil once
    /// redeemed or when nothing needed proving. Its leaves count positions in `chunks`.
    public var challenge: OwnershipChallenge?
    public var ownershipProven: Bool
    public var expiresAt: Date

    public init(id: String, user: String, files: [AnnouncedFile], missing: Set<Tag>,
                received: Set<Tag>, challenge: OwnershipChallenge?, ownershipProven: Bool, expiresAt: Date) {
        self.id = id
        self.user = user
        self.files = files
        self.missing = missing
        self.received = received
        self.challenge = challenge
        self.ownershipProven = ownershipProven
        self.expiresAt = expiresAt
    }

    /// A session announcing one file.
    public init(id: String, user: String, fileTag: Tag, chunks: [ChunkReference], missing: Set<Tag>,
                received: Set<Tag>, challenge: OwnershipChallenge?, ownershipProven: Bool, expiresAt: Date) {
        self.init(id: id, user: user, files: [AnnouncedFile(fileTag: fileTag, chunks: chunks)], missing: missing,
                  received: received, challenge: challenge, ownershipProven: ownershipProven, expiresAt: expiresAt)
    }

    /// Every file's chunks, concatenated in announcement order: the positions challenges refer to.
    public var chunks: [ChunkReference] { files.flatMap(\.chunks) }
}

/// What receiving chunks needs to know of an upload session: its owner, deadline, and the state of
/// the chunks asked about, not its chunk lists or challenge (`MetadataStore.uploadSessionChunks`).
public struct UploadSessionChunks: Sendable, Equatable {
    public var user: String
    public var expiresAt: Date
    /// Per tag asked about and announced by the session: its announced size, whether the session
    /// asked for it, and whether it has arrived. Tags the session does not announce are absent.
    public var chunks: [Tag: State]

    public struct State: Sendable, Equatable {
        public var size: Int
        public var missing: Bool
        public var received: Bool

        public init(size: Int, missing: Bool, received: Bool) {
            self.size = size
            self.missing = missing
            self.received = received
        }
    }

    public init(user: String, expiresAt: Date, chunks: [Tag: State]) {
        self.user = user
        self.expiresAt = expiresAt
        self.chunks = chunks
    }
}

/// An upload session's challenge, taken for checking (`MetadataStore.takeChallenge`), with what a
/// check needs: the announced chunks its leaves count positions in.
public struct TakenChallenge: Sendable, Equatable {
    public var user: String
    public var challenge: OwnershipChallenge
    public var chunks: [ChunkReference]

    public init(user: String, challenge: OwnershipChallenge, chunks: [ChunkReference]) {
        self.user = user
        self.challenge = challenge
        self.chunks = chunks
    }
}

/// Server-wide totals.
public struct StoreStatistics: Sendable, Equatable {
    public var users: Int
    public var entries: Int
    public var files: Int
    public var chunks: Int
    /// Sum of entry sizes: what users think they store.
    public var logicalBytes: Int
    /// Sum of chunk ciphertext sizes plus sealed manifests: what the server keeps.
    public var storedBytes: Int

    public init(users: Int, entries: Int, files: Int, chunks: Int, logicalBytes: Int, storedBytes: Int) {
        self.users = users
        self.entries = entries
        self.files = files
        self.chunks = chunks
        self.logicalBytes = logicalBytes
        self.storedBytes = storedBytes
    }
}

/// A record a store names in an error.
public enum StoredRecord: Sendable, Equatable, Hashable, CustomStringConvertible {
    case user(String)
    case loginChallenge
    case session
    case uploadSession(String)
    case chunk(Tag)
    case file(Tag)
    case entry(owner: String, name: String)
    case grant(owner: String, grantee: String)

    public var description: String {
        switch self {
        case .user(let name): "user \(name)"
        case .loginChallenge: "login challenge"
        case .session: "session"
        case .uploadSession(let id): "upload session \(id)"
        case .chunk(let tag): "chunk \(tag.hex)"
        case .file(let tag): "file \(tag.hex)"
        case .entry(let owner, let name): "entry \(owner)/\(name)"
        case .grant(let owner, let grantee): "grant from \(owner) to \(grantee)"
        }
    }
}

/// Why a store refused a call. A refused call changed nothing.
public enum MetadataStoreError: Error, Equatable, Sendable {
    /// A unique name is taken (user name, entry name).
    case conflict(StoredRecord)
    /// A record the call needs does not exist.
    case notFound(StoredRecord)
    /// The user already has this many live upload sessions, the most allowed.
    case tooManyUploadSessions(user: String, live: Int)
    /// A commit would take the owner's charged bytes past their quota.
    case quotaExceeded(used: Int, quota: Int)
    /// A collector (in any process) is deleting this chunk's blob: the same call may succeed in a
    /// moment, once the collection is over.
    case collecting(Tag)
}

/// The server's metadata. Every method is one transaction: it happens entirely or not at all, and
/// concurrent calls (from several server processes too) never see half of one.
public protocol MetadataStore: Sendable {
    // MARK: Users and authentication

    /// Throws `.conflict` when the name is taken.
    func createUser(_ user: UserRecord) async throws
    func user(named name: String) async throws -> UserRecord?
    /// Remembers a login nonce for `user` until `expiresAt`.
    func storeLoginChallenge(_ nonce: [UInt8], user: String, expiresAt: Date) async throws
    /// Removes the nonce and returns its user if it existed and had not expired at `now` (single use).
    func consumeLoginChallenge(_ nonce: [UInt8], now: Date) async throws -> String?
    /// Stores a session under the SHA-256 of its bearer token (tokens themselves are never stored).
    func storeSession(tokenHash: [UInt8], user: String, expiresAt: Date) async throws
    func sessionUser(tokenHash: [UInt8], now: Date) async throws -> String?
    /// 32 random bytes made the first time any node asks, then the same for every node of the
    /// store: what the servers derive their shared identity and per-chunk secrets from.
    func serverSecret() async throws -> [UInt8]

    // MARK: Chunks and files

    /// The subset of `tags` whose chunk is stored (committed or received by any upload, and not
    /// marked lost), with sizes.
    func storedChunks(_ tags: [Tag]) async throws -> [Tag: Int]
    func file(_ tag: Tag) async throws -> FileRecord?
    /// Everything announcing a batch reads, in one snapshot (one round trip to a database server):
    /// the chunk lists of the stored files among `files`, the stored chunks among `chunks` (as
    /// `storedChunks`), and the stored ones that `user` holds and need not prove again: chunks that
    /// files of the user's committed entries use. Nothing else counts, not even chunks of the user's
    /// live sessions whose proof passed: a proof covers the leaves it opened, and only a commit
    /// (after every announced chunk was challenged or received) makes a chunk the user's.
    func uploadLookup(files: [Tag], chunks: [Tag], user: String) async throws -> UploadLookup

    // MARK: Upload sessions

    /// Also forgets the user's expired sessions; throws `.tooManyUploadSessions`, creating nothing,
    /// when the user already has `maximumLive` live ones at `now`.
    func createUploadSession(_ session: UploadSessionRecord, maximumLive: Int, now: Date) async throws
    func uploadSession(id: String) async throws -> UploadSessionRecord?
    /// Session `id` as the upload of some of its chunks sees it (nil when there is no such
    /// session): one read per arriving request, of no chunk list or challenge.
    func uploadSessionChunks(id: String, tags: [Tag]) async throws -> UploadSessionChunks?
    /// Records that the chunks' blobs are stored (clearing any lost mark) and, with a session, marks
    /// them received there, in one transaction. The chunks are recorded even when the session is gone
    /// (their blobs are then ordinary garbage), and `.notFound` follows. Throws `.collecting`,
    /// recording nothing, while a collector is deleting one of them.
    func recordReceived(_ chunks: [ChunkReference], session id: String?) async throws
    /// Atomically removes and returns the session's outstanding challenge (single use), with the
    /// chunks it is over; nil when the session has none. Throws `.notFound` without a session.
    func takeChallenge(session id: String) async throws -> TakenChallenge?
    /// Throws `.notFound` without a session.
    func setOwnershipProven(session id: String) async throws
    /// Deleting an absent session is not an error.
    func deleteUploadSession(id: String) async throws

    // MARK: Entries

    /// In one transaction, for each pair in order: adds `file` if its tag is new (with one reference
    /// per chunk position), adds `entry` (`.conflict` if the owner already has that name) and a
    /// reference from it to the file; then deletes the upload session `sessionID`. Refuses, changing
    /// nothing: a session that does not exist, belongs to another user than the entries' owner, or
    /// announced other files or another order (`.notFound(.uploadSession)`); an entry naming another
    /// file than its pair's (`.notFound(.file)`); a new file naming a chunk never recorded
    /// (`.notFound(.chunk)`). A session committed once is gone, so it cannot be committed again.
    /// With a `quota`, throws `.quotaExceeded` when the owner's entries would then be charged more
    /// than `quota` bytes (`FileRecord.storedSize` each).
    /// `replacing` maps names of the owner's entries that the commit replaces to the file tag each
    /// must still name: they are removed first, in the same transaction, as `deleteEntry` would at
    /// `now` (`.notFound(.entry)` when one is gone, `.conflict(.entry)` when it names another file).
    /// Any other name the commit uses must be free.
    func commit(_ entries: [(entry: EntryRecord, file: FileRecord)], sessionID: String, quota: Int?,
                replacing: [String: Tag], now: Date) async throws
    func entry(owner: String, name: String) async throws -> EntryRecord?
    /// The owner's entries whose names start with `prefix` and sort after `after` (bytewise, as
    /// UTF-8), in that order, at most `limit`: one page of a listing.
    func entries(owner: String, prefix: String, after: String?, limit: Int) async throws -> [EntryRecord]
    /// Removes an entry and its reference; a file left without entries is removed with its chunk
    /// references, and chunks left without references become garbage (collected after a grace
    /// period by `collectGarbage`). Returns false when there was no such entry.
    func deleteEntry(owner: String, name: String, now: Date) async throws -> Bool
    /// Gives the owner's entries new keys (a re-key after a revocation), all or none: for each
    /// update, the entry `name` gets `attributeWrappedKey` and `ownerSeal`, if its seal is still
    /// `previousSeal`. Refuses, changing nothing: a missing entry (`.notFound(.entry)`), and one
    /// whose seal changed since the caller read it (`.conflict(.entry)`: a concurrent upload or re-key).
    func updateEntryKeys(owner: String, _ updates: [EntryKeyUpdate]) async throws
    /// Forgets chunks unreferenced since before `cutoff` and not named by any upload session live at
    /// `now`, and returns the tags whose blobs the caller must delete: these, and those of earlier
    /// passes not yet forgotten (a collector that died). Until `forgetCollected` names a tag,
    /// recording it is refused with `.collecting`, so concurrent uploads (in any process, on any
    /// node) cannot lose a blob to the deletion. Also forgets what expired at `now`: upload
    /// sessions, login challenges and sessions.
    func collectGarbage(unreferencedBefore cutoff: Date, now: Date) async throws -> [Tag]
    /// Ends the collection of `tags`, whose blobs are deleted: they may be recorded again.
    func forgetCollected(_ tags: [Tag]) async throws
    /// Marks chunks whose blob is missing or corrupt: they are no longer offered as stored, so the
    /// next upload of that content sends them again, and recording them clears the mark.
    func markLost(_ tags: [Tag]) async throws
    /// Chunks marked lost, sorted.
    func lostChunks() async throws -> [Tag]
    /// Every recorded chunk, sorted by tag (audits).
    func allChunks() async throws -> [ChunkReference]
    /// The store's own references checked (audits): entries without files, file chunks without
    /// records, and chunks being collected.
    func referenceAudit() async throws -> ReferenceAudit

    // MARK: Grants

    /// Adds or replaces the grant from `owner` to `grantee`; `.notFound` when either user does not exist.
    func putGrant(_ grant: GrantRecord) async throws
    func grant(owner: String, grantee: String) async throws -> GrantRecord?
    /// The grants `grantee` received, sorted by owner.
    func grants(grantee: String) async throws -> [GrantRecord]
    /// The grants `owner` issued, sorted by grantee.
    func grants(owner: String) async throws -> [GrantRecord]
    /// Returns false when there was no such grant.
    func revokeGrant(owner: String, grantee: String) async throws -> Bool

    // MARK: Statistics

    func statistics() async throws -> StoreStatistics
    /// Per user, sorted by name: entries, and the bytes charged against their quota (an operator's
    /// view: totals per user, nothing per file).
    func userUsage() async throws -> [UserUsage]
}

public struct UserUsage: Sendable, Equatable {
    public var user: String
    public var entries: Int
    public var chargedBytes: Int
    public init(user: String, entries: Int, chargedBytes: Int) {
        self.user = user
        self.entries = entries
        self.chargedBytes = chargedBytes
    }
}

extension MetadataStore {
    /// Every entry of `owner`, sorted by name.
    public func entries(owner: String) async throws -> [EntryRecord] {
        try await entries(owner: owner, prefix: "", after: nil, limit: .max)
    }

    /// Commits a session that announced a single file.
    public func commit(entry: EntryRecord, file: FileRecord, sessionID: String) async throws {
        try await commit([(entry, file)], sessionID: sessionID, quota: nil)
    }

    public func commit(_ entries: [(entry: EntryRecord, file: FileRecord)], sessionID: String, quota: Int? = nil) async throws {
        try await commit(entries, sessionID: sessionID, quota: quota, replacing: [:], now: Date())
    }

    public func createUploadSession(_ session: UploadSessionRecord) async throws {
        try await createUploadSession(session, maximumLive: .max, now: Date())
    }
}

/// What removing an entry that must name a given file found: the outcome each backend's removal
/// reports, which `commit(…replacing:…)` turns into its refusals.
public enum EntryRemoval: Equatable, Sendable {
    case removed
    case absent
    case namesAnotherFile
}

/// New keys for one entry (`MetadataStore.updateEntryKeys`), taken only if the entry still has
/// the seal the caller read.
public struct EntryKeyUpdate: Sendable, Equatable {
    public var name: String
    public var previousSeal: [UInt8]
    public var attributeWrappedKey: [UInt8]
    public var ownerSeal: [UInt8]

    public init(name: String, previousSeal: [UInt8], attributeWrappedKey: [UInt8], ownerSeal: [UInt8]) {
        self.name = name
        self.previousSeal = previousSeal
        self.attributeWrappedKey = attributeWrappedKey
        self.ownerSeal = ownerSeal
    }
}

/// What the server knows about a batch being announced (`MetadataStore.uploadLookup`).
public struct UploadLookup: Equatable, Sendable {
    /// The chunk lists of the announced files already stored.
    public var files: [Tag: [ChunkReference]]
    /// The announced chunks already stored, with their sizes.
    public var chunks: [Tag: Int]
    /// The stored ones among them that the announcing user has shown to hold.
    public var held: Set<Tag>
    /// For each stored chunk: how many times an upload sent its data (`recordReceived`), the
    /// first upload included: what a dedup threshold counts.
    public var uploads: [Tag: Int]

    public init(files: [Tag: [ChunkReference]], chunks: [Tag: Int], held: Set<Tag>, uploads: [Tag: Int]) {
        self.files = files
        self.chunks = chunks
        self.held = held
        self.uploads = uploads
    }
}
