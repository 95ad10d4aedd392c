import Caching
import Convergent
import Crypto
import Foundation
import KPABE
import Synchronization
import TwinOPRF
import TwinProtocol

/// A logged-in user: the keyring plus an authenticated API client. Every command goes through here.
public struct TwinSession: Sendable {
    public internal(set) var keyring: Keyring
    /// Chunks this session sealed already: re-shared photos in one run are sealed once.
    let sealedChunks = SealedChunkCache()
    let chunkBuffers = ChunkBufferPool()
    /// Files this session encoded already: a copy met later in the run reuses the result.
    let identicalFiles = IdenticalFiles()
    /// Thumbnails this session made already, by picture: a copy of an image met later in the run,
    /// metadata edits and all, reuses its thumbnail instead of decoding the image again.
    let thumbnails = ByteBudgetCache<Digest32, PreparedUpload>(capacityBytes: 16 << 20)
    /// How many thumbnails this session decoded an image for (copies not counted).
    let thumbnailDecodes = Counter()

    /// A count shared by the copies of a session.
    final class Counter: Sendable {
        private let value = Mutex(0)
        func increment() { value.withLock { $0 += 1 } }
        var count: Int { value.withLock { $0 } }
    }

    /// How many images this session decoded for thumbnails (copies of one image count once).
    public var decodedThumbnails: Int { thumbnailDecodes.count }
    /// One KP-ABE capsule per attribute set for this session's uploads (see `AttributeKeyWrapper`),
    /// under this user's own authority.
    let attributeWrappers: AttributeWrappers
    /// Peers' keys as first seen or as trusted: grants and reads check against these.
    public let knownKeys: KnownKeys
    /// The key server's derivation when the server has one (nil: keys from content alone).
    let keyDerivation: ServerAidedKeyDerivation?
    var api: TwinAPI

    /// Creates an identity, saves the keyring, and registers its public half. The keyring is written
    /// before the server sees the key and is never removed once the server may have accepted it: a
    /// run cut short (the server down, a failed login) is resumed by running this again with the
    /// same user and server, which registers the saved keyring if the server does not have it yet.
    /// Only a registration the server refused outright (bad name, name taken by another key)
    /// removes a keyring this run made.
    public static func createAccount(user: String, server: String) async throws -> TwinSession {
        try checkServerURL(server)
        let keyring: Keyring
        let resumed: Bool
        if FileManager.default.fileExists(atPath: Keyring.file.path) {
            var existing = try Keyring.load()
            guard existing.user == user, existing.server == server else { throw TwinClientError.keyringExists(Keyring.file.path) }
            if existing.serverID == nil {
                existing.serverID = try await TwinAPI(baseURL: server).serverInfo().id
                try existing.save(overwrite: true)
            }
            (keyring, resumed) = (existing, true)
        } else {
            var fresh = Keyring.generate(user: user, server: server)
            fresh.serverID = try await TwinAPI(baseURL: server).serverInfo().id
            (keyring, resumed) = (fresh, false)
            try keyring.save()
        }
        do {
            try await registerIfNeeded(keyring)
        } catch let error as TwinClientError where error.isRefusal {
            if !resumed { Keyring.remove() }
            throw error
        }
        let session = try await TwinSession(keyring: keyring, tokenCache: TokenCache(directory: Keyring.home),
                                            knownKeys: KnownKeys.beside(keyring: Keyring.home),
                                            keySourceFile: Keyring.home.appendingPathComponent("key-sources.bin"))
        if session.keyring.keyServerKey != keyring.keyServerKey { try session.keyring.save(overwrite: true) }
        return session
    }

    /// Refuses what is not an http(s) URL with a host, before anything is written or sent.
    static func checkServerURL(_ server: String) throws {
        guard let url = URL(string: server), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host?.isEmpty == false else {
            throw TwinClientError.invalidArgument("'\(server)' is not a server URL: write it as http://HOST:PORT, e.g. http://127.0.0.1:8080")
        }
    }

    /// Registers `keyring` unless the server already holds exactly its public keys (an earlier run
    /// registered it); a name the server holds under another key is refused as taken.
    static func registerIfNeeded(_ keyring: Keyring) async throws {
        do {
            try await registerKeys(keyring)
        } catch let error as TwinClientError where error.serverCode == ErrorCode.conflict.rawValue {
            let registered = try await TwinAPI(baseURL: keyring.server).user(keyring.user)
            guard registered.signingKey == keyring.signingPublicKey, registered.agreementKey == keyring.agreementPublicKey,
                  registered.authorityParameters == keyring.authorityParameters else { throw error }
        }
    }

    private static func registerKeys(_ keyring: Keyring) async throws {
        // A keyring that pinned no identity yet registers with the server's present one.
        var serverID = keyring.serverID
        if serverID == nil { serverID = try await TwinAPI(baseURL: keyring.server).serverInfo().id }
        let signature = try keyring.signing.signature(for: TwinProtocol.registrationMessage(
            server: Array(serverID!), name: keyring.user, signingKey: Array(keyring.signingPublicKey), agreementKey: Array(keyring.agreementPublicKey),
            authorityParameters: Array(keyring.authorityParameters)))
        _ = try await TwinAPI(baseURL: keyring.server).register(RegisterRequest(
            name: keyring.user, signingKey: keyring.signingPublicKey, agreementKey: keyring.agreementPublicKey,
            authorityParameters: keyring.authorityParameters, signature: signature))
    }

    /// Registers `keyring`'s public half with its server (pinning the server's identity first, if
    /// the keyring has none) and logs in; stores nothing locally except the bearer token in
    /// `tokenCache`, when given. Peers' keys are pinned in `knownKeys` (in memory when nil).
    public static func register(_ keyring: Keyring, tokenCache: TokenCache? = nil, knownKeys: KnownKeys? = nil) async throws -> TwinSession {
        var keyring = keyring
        if keyring.serverID == nil { keyring.serverID = try await TwinAPI(baseURL: keyring.server).serverInfo().id }
        try await registerKeys(keyring)
        return try await TwinSession(keyring: keyring, tokenCache: tokenCache, knownKeys: knownKeys ?? KnownKeys(file: nil))
    }

    /// The saved keyring's session, reusing the bearer token a previous command of this user saved.
    /// A keyring from before server identities pins the server's identity now, once.
    /// - Parameter server: a node to use instead of the keyring's server (any node serving the same
    ///   store, so with the same identity); the keyring itself is unchanged.
    public static func open(server: String? = nil) async throws -> TwinSession {
        if let server { try checkServerURL(server) }
        var keyring = try Keyring.load()
        if keyring.serverID == nil {
            keyring.serverID = try await TwinAPI(baseURL: keyring.server).serverInfo().id
            try keyring.save(overwrite: true)
        }
        if let server { keyring.server = server }
        let session = try await TwinSession(keyring: keyring, tokenCache: TokenCache(directory: Keyring.home),
                                            knownKeys: KnownKeys.beside(keyring: Keyring.home),
                                            keySourceFile: Keyring.home.appendingPathComponent("key-sources.bin"))
        if session.keyring.keyServerKey != keyring.keyServerKey {
            var pinned = try Keyring.load()
            pinned.keyServerKey = session.keyring.keyServerKey
            try pinned.save(overwrite: true)
        }
        return session
    }

    /// Logs in with `keyring`, unless `tokenCache` holds a token for this user and server that is
    /// still valid for a while; a token the server refuses later is renewed by logging in again.
    /// The session first checks that the server has the identity the keyring pinned, and takes
    /// up its key server (pinning its key on first use, refusing another after that); every login
    /// checks the identity again. Key sources evaluated are remembered in `keySourceFile` (in
    /// memory when nil).
    public init(keyring: Keyring, tokenCache: TokenCache? = nil, knownKeys: KnownKeys, keySourceFile: URL? = nil) async throws {
        guard let serverID = keyring.serverID else { throw TwinClientError.serverChanged("the keyring names no server identity") }
        var keyring = keyring
        let (user, server, signing) = (keyring.user, keyring.server, keyring.signing)
        var api = TwinAPI(baseURL: server)
        api.renewLogin = { api in
            let home = api.rebased(server)
            guard try await home.serverInfo().id == serverID else {
                throw TwinClientError.serverChanged("the server at \(server) is not the one \(user)'s keyring registered with")
            }
            let issued = try await home.login(user: user, signingKey: signing, server: Array(serverID))
            tokenCache?.save(TokenCache.Entry(user: user, server: server, token: issued.token, expiresAt: issued.expiresAt))
        }
        let info = try await api.serverInfo()
        guard info.id == serverID else {
            throw TwinClientError.serverChanged("the server at \(server) is not the one \(user)'s keyring registered with")
        }
        if let published = info.keyServer {
            if let pinned = keyring.keyServerKey, pinned != published.publicKey {
                throw TwinClientError.serverChanged("the server at \(server) publishes another key-server key than the one pinned")
            }
            keyring.keyServerKey = published.publicKey
            let publicKey: OPRFPublicKey
            do { publicKey = try OPRFPublicKey(derRepresentation: published.publicKey) } catch {
                throw TwinClientError.integrity("the server's key-server key is unusable: \(error)")
            }
            let keyAPI = published.mode == "separate" ? api.rebased(published.url ?? server) : api
            keyDerivation = ServerAidedKeyDerivation(publicKey: publicKey, api: keyAPI,
                                                     cache: KeySourceCache(keyring: keyring, keyServer: publicKey, file: keySourceFile))
        } else {
            keyDerivation = nil
        }
        self.api = api
        self.keyring = keyring
        self.knownKeys = knownKeys
        attributeWrappers = AttributeWrappers(encodedParameters: keyring.authorityParameters)
        if let cached = tokenCache?.load(user: user, server: server) {
            api.token = cached.token
        } else {
            try await api.renewLogin!(api)
        }
    }

    // MARK: Upload

    public struct UploadResult: Sendable {
        public var name: String
        public var logicalBytes: Int
        /// Chunk ciphertexts, proof, manifest and wrapped keys sent.
        public var sentBytes: Int
        public var proofBytes: Int
        /// Plaintext bytes whose chunks the server already had.
        public var deduplicatedBytes: Int
        public var fileExisted: Bool
        public var outcome: Outcome = .uploaded

        /// What a run did with a file whose name may already have an entry.
        public enum Outcome: Sendable {
            /// A new entry.
            case uploaded
            /// The entry held other content and was replaced (asked for).
            case replaced
            /// The entry already holds exactly this content: nothing was sent.
            case unchanged
            /// The entry holds other content and replacing was not asked for: nothing was sent.
            case refused
        }
    }

    /// A file encoded on this machine, ready to go up: everything the protocol sends, nothing sent yet.
    /// The chunk ciphertexts stay in memory until it is sent (images are small; the chunker streams).
    public struct PreparedUpload: Sendable {
        public var name: String
        public var encoded: EncodedFile
        /// The chunk ciphertexts, in file order, with their hashed trees (for the proof of ownership).
        public var chunks: [HashedCiphertext]
        public var plaintextLengths: [Int]
        public var chunkTags: [Tag] { encoded.chunkTags }
        /// What holding it costs in memory: its chunks' ciphertext bytes.
        public var ciphertextBytes: Int { chunks.reduce(0) { $0 + $1.count } }
    }

    /// Encodes the file at `path` for upload under `name`.
    public func prepare(path: String, name: String) async throws -> PreparedUpload {
        guard TwinProtocol.isValidName(name) else { throw TwinClientError.invalidArgument("invalid entry name '\(name)'") }
        return try await identicalFiles.encoding(of: path, name: name) {
            try await prepare(source: try FileByteSource(path: path), name: name)
        }
    }

    /// The largest image a thumbnail is made of; larger ones get an empty thumbnail entry.
    static let largestThumbnailSource = 256 << 20

    /// Encodes the thumbnail of the image at `path` for upload under `name` (`Thumbnail.name`). An
    /// image that does not decode, or is too large, gets an empty thumbnail ("no preview"), so one
    /// bad file never stops a run and a re-run does not try it again.
    public func prepareThumbnail(path: String, name: String) async throws -> PreparedUpload {
        let image = (try? FileHandle(forReadingFrom: URL(fileURLWithPath: path)).read(upToCount: Self.largestThumbnailSource + 1))
            .flatMap { $0.count <= Self.largestThumbnailSource ? Array($0) : nil }
        let picture = image.flatMap(Thumbnail.pictureDigest)
        if let picture, var made = thumbnails.value(for: picture) {
            made.name = name
            return made
        }
        let thumbnail = image.flatMap { try? Thumbnail.make(from: $0) } ?? []
        thumbnailDecodes.increment()
        let prepared = try await prepare(bytes: thumbnail, name: name)
        if let picture { thumbnails.insertIfAbsent(prepared, bytes: prepared.ciphertextBytes, under: picture) }
        return prepared
    }

    /// Encodes `bytes` (held in memory) for upload under `name`.
    func prepare(bytes: [UInt8], name: String) async throws -> PreparedUpload {
        try await prepare(source: MemoryByteSource(bytes), name: name)
    }

    /// Encodes `source` for upload under `name`.
    private func prepare(source: some ByteSource, name: String) async throws -> PreparedUpload {
        var chunks: [HashedCiphertext] = []
        var plaintextLengths: [Int] = []
        let encoded = try await ConvergentEncoder(keyDerivation: keyDerivation, cache: sealedChunks, bufferPool: chunkBuffers)
            .encode(source) {
            chunks.append($0.sealed)
            plaintextLengths.append($0.plaintextLength)
        }
        return PreparedUpload(name: name, encoded: encoded, chunks: chunks, plaintextLengths: plaintextLengths)
    }

    /// How many ciphertext bytes one request carries at most (a chunk larger than this goes alone).
    static let bundleBytes = 8 << 20
    /// How many chunks one request carries at most (the server takes up to 1024).
    static let bundleChunks = 256

    /// Uploads one file under `name`.
    public func upload(path: String, name: String, attributes: [String]) async throws -> UploadResult {
        try await send([try await prepare(path: path, name: name)], attributes: attributes)[0]
    }

    /// Runs the upload protocol for prepared files as one batch: their tags first, then the missing
    /// chunks (each once, however many files share it) and one proof of ownership for the rest,
    /// and one commit that adds every entry or none. Returns one result per file, in order.
    public func send(_ batch: [PreparedUpload], attributes: [String]) async throws -> [UploadResult] {
        guard !batch.isEmpty else { return [] }
        if let invalid = attributes.first(where: { !AttributeVersion.isValid($0) }) {
            throw TwinClientError.invalidArgument("attribute '\(invalid)' must be 1–\(AttributeVersion.maximumAttributeLength) bytes without '#'")
        }
        return try await commit(try await announce(batch, attributes: attributes))
    }

    /// A batch the server has everything for but the commit.
    struct AnnouncedBatch: Sendable {
        var session: String
        var entries: [EntryCommit]
        var results: [UploadResult]
    }

    /// The protocol up to the commit: tags, then the missing chunks and the proof side by side.
    /// `replacing` maps names whose entries the commit replaces to the file tag each holds now.
    func announce(_ batch: [PreparedUpload], attributes: [String], replacing: [String: Tag] = [:]) async throws -> AnnouncedBatch {
        // Positions in the concatenated chunk lists: what the server's challenge counts.
        let chunks = batch.flatMap(\.chunks)
        let fileOfPosition = batch.indices.flatMap { Array(repeating: $0, count: batch[$0].chunks.count) }
        let begin = try await api.beginUpload(BeginUploadRequest(files: batch.map { prepared in
            FileAnnouncement(fileTag: prepared.encoded.fileTag, chunks: prepared.chunks.map { ChunkReference(tag: $0.tag, size: $0.count) })
        }))
        guard begin.fileExists.count == batch.count else {
            throw TwinClientError.integrity("the server answered for \(begin.fileExists.count) files, not \(batch.count)")
        }
        let api = self.api
        // The proof (of the chunks the server has) goes up while the missing chunks do.
        async let proof: [UInt8] = Self.prove(begin, chunks: chunks, api: api)

        // Missing chunks, each once, in bundles of a few megabytes, two requests in flight.
        let missing = Set(begin.missing)
        var firstPosition: [Tag: Int] = [:]
        for (position, chunk) in chunks.enumerated() where missing.contains(chunk.tag) && firstPosition[chunk.tag] == nil {
            firstPosition[chunk.tag] = position
        }
        let toSend = firstPosition.values.sorted()
        var bundles: [[Int]] = []
        var bundleBytes = 0
        for position in toSend {
            if bundles.isEmpty || bundleBytes + chunks[position].count > Self.bundleBytes || bundles[bundles.count - 1].count == Self.bundleChunks {
                bundles.append([])
                bundleBytes = 0
            }
            bundles[bundles.count - 1].append(position)
            bundleBytes += chunks[position].count
        }
        try await forEachConcurrently(bundles, width: 2) { _, bundle in
            try await api.postChunks(session: begin.id, bundle.map { chunks[$0] })
        }
        var sent = [Int](repeating: 0, count: batch.count)
        for position in toSend { sent[fileOfPosition[position]] += chunks[position].count }
        var proofBytes = [Int](repeating: 0, count: batch.count)
        let proofSize = try await proof.count
        if let leaves = begin.challenge?.leaves, proofSize > 0 {
            // Reported per file in proportion to its challenged leaves (openings are alike in size).
            let leavesPerFile = leaves.reduce(into: [Int](repeating: 0, count: batch.count)) { $0[fileOfPosition[$1.chunk]] += 1 }
            for file in batch.indices { proofBytes[file] = proofSize * leavesPerFile[file] / max(1, leaves.count) }
            proofBytes[leavesPerFile.firstIndex { $0 > 0 } ?? 0] += proofSize - proofBytes.reduce(0, +)
        }
        let attributes = TwinProtocol.normalizedAttributes(attributes)
        let wrapper = attributes.isEmpty ? nil : try attributeWrappers.wrapper(for: keyring.capsuleAttributes(attributes))
        let entries = try batch.map { prepared in
            let encoded = prepared.encoded
            let attributeWrapped = wrapper?.wrap(encoded.fileKey.withUnsafeBytes { Array($0) }, context: encoded.fileTag.bytes).encoded() ?? []
            var entry = try entryCommit(name: prepared.name, encoded: encoded, attributes: attributes, attributeWrappedKey: attributeWrapped)
            entry.replaces = replacing[prepared.name]
            return entry
        }
        // Deduplicated: every chunk position whose bytes did not go up, whether the server had them
        // or another position of this batch carried them.
        let sentPositions = Set(toSend)
        let plaintextLengths = batch.flatMap(\.plaintextLengths)
        var deduplicatedBytes = [Int](repeating: 0, count: batch.count)
        for position in chunks.indices where !sentPositions.contains(position) {
            deduplicatedBytes[fileOfPosition[position]] += plaintextLengths[position]
        }
        let results = batch.indices.map { file in
            let prepared = batch[file], entry = entries[file]
            return UploadResult(
                name: prepared.name, logicalBytes: prepared.encoded.length,
                sentBytes: sent[file] + proofBytes[file] + entry.sealedManifest.count + entry.attributeWrappedKey.count + entry.ownerWrappedKey.count,
                proofBytes: proofBytes[file], deduplicatedBytes: deduplicatedBytes[file], fileExisted: begin.fileExists[file])
        }
        return AnnouncedBatch(session: begin.id, entries: entries, results: results)
    }

    /// The commit of `encoded` under `name`, sealed by this user (`EntrySeal`, version: now in
    /// milliseconds) and with the owner's own wrap of its key. `mediaType` and `size` default to
    /// the file's.
    func entryCommit(name: String, encoded: EncodedFile, attributes: [String], attributeWrappedKey: [UInt8],
                     mediaType: String? = nil, size: Int? = nil) throws -> EntryCommit {
        let (mediaType, size) = (mediaType ?? encoded.manifest.mediaType, size ?? encoded.length)
        let seal = try EntrySeal(sealing: EntrySeal.Fields(owner: keyring.user, name: name, fileTag: encoded.fileTag, attributes: attributes,
                                                           attributeWrappedKey: attributeWrappedKey, mediaType: mediaType, size: size),
                                 version: UInt64(max(0, Date().timeIntervalSince1970 * 1000)), with: keyring.signing)
        return EntryCommit(name: name, attributes: attributes, attributeWrappedKey: Data(attributeWrappedKey),
                           ownerWrappedKey: keyring.wrapForOwner(encoded.fileKey, name: name, fileTag: encoded.fileTag.bytes),
                           sealedManifest: Data(encoded.sealedManifest), mediaType: mediaType, size: size,
                           ownerSeal: Data(seal.encoded()))
    }

    /// Answers the session's challenge, if it has one; returns the proof sent (empty for none).
    private static func prove(_ begin: BeginUploadResponse, chunks: [HashedCiphertext], api: TwinAPI) async throws -> [UInt8] {
        guard let descriptor = begin.challenge else { return [] }
        let leaves = descriptor.leaves.map { LeafReference(chunk: $0.chunk, leaf: $0.leaf) }
        guard leaves.allSatisfy({ chunks.indices.contains($0.chunk) }) else {
            throw TwinClientError.integrity("the server's challenge names chunks this upload does not have")
        }
        let challenge = OwnershipChallenge(id: descriptor.id, session: begin.id, leaves: leaves, expiresAt: descriptor.expiresAt)
        let proof = try await OwnershipProof.answer(challenge, chunk: { chunks[$0] }).encoded()
        try await api.proveOwnership(session: begin.id, proof)
        return proof
    }

    /// Adds the announced batch's entries.
    func commit(_ batch: AnnouncedBatch) async throws -> [UploadResult] {
        try await api.commit(session: batch.session, CommitRequest(entries: batch.entries))
        return batch.results
    }

    // MARK: Retrieve

    public func entries() async throws -> [EntryResponse] { try await api.entries() }
    /// One page of `owner`'s entries under `prefix` after `after` that this user may read (own
    /// when `owner` is nil); continue from its `next`.
    public func entryPage(owner: String?, prefix: String, after: String?, limit: Int? = nil) async throws -> EntryListResponse {
        try await api.entryPage(owner: owner, prefix: prefix, after: after, limit: limit)
    }

    /// Calls `body` with each page of `owner`'s entries under `prefix` that this user may read
    /// (own entries when `owner` is nil), in name order.
    public func forEachEntryPage(owner: String? = nil, prefix: String = "", limit: Int? = nil,
                                 _ body: ([EntryResponse]) async throws -> Void) async throws {
        try await api.forEachEntryPage(owner: owner, prefix: prefix, limit: limit, body)
    }
    public func shared() async throws -> [EntryResponse] { try await api.shared() }
    /// One entry as the server describes it (own when `owner` is nil); nothing is checked yet.
    public func entry(owner: String?, name: String) async throws -> EntryResponse {
        try await api.entry(owner: owner ?? keyring.user, name: name)
    }
    /// Deletes the entry `name` and its thumbnail, if it has one.
    public func delete(name: String) async throws {
        try await api.delete(owner: keyring.user, name: name)
        guard !Thumbnail.isThumbnail(name) else { return }
        do {
            try await api.delete(owner: keyring.user, name: Thumbnail.name(for: name))
        } catch let error as TwinClientError where error.serverCode == ErrorCode.notFound.rawValue {}
    }
    public func stats() async throws -> StatsResponse { try await api.stats() }
    /// Key units this session had the key server evaluate, and the requests that took.
    public var keyEvaluations: (evaluations: Int, requests: Int) { keyDerivation?.counts.withLock { $0 } ?? (0, 0) }

    /// Downloads and decrypts `owner/name` (own entries when `owner` is nil) into `destination`,
    /// atomically: the file appears only after every tag, AEAD and the file key checked out.
    public func get(owner: String?, name: String, destination: String) async throws -> EntryResponse {
        let entry = try await readableEntry(owner: owner ?? keyring.user, name: name)
        let fileKey = try await fileKey(for: entry)
        // A folder given as the destination receives the file under the entry's name: nothing in
        // it is replaced but a file of that name.
        var isFolder: ObjCBool = false
        let destination = FileManager.default.fileExists(atPath: destination, isDirectory: &isFolder) && isFolder.boolValue
            ? (destination as NSString).appendingPathComponent(name) : destination
        if FileManager.default.fileExists(atPath: destination, isDirectory: &isFolder), isFolder.boolValue {
            throw TwinClientError.invalidArgument("\(destination) is a folder; name a file to write")
        }
        let directory = (destination as NSString).deletingLastPathComponent
        let temporary = ((directory.isEmpty ? "." : directory) as NSString).appendingPathComponent(".twin-\(UUID().uuidString).part")
        guard FileManager.default.createFile(atPath: temporary, contents: nil, attributes: [.posixPermissions: 0o600]),
              let handle = FileHandle(forWritingAtPath: temporary) else {
            throw TwinClientError.invalidArgument("cannot write to \(directory.isEmpty ? "." : directory)")
        }
        do {
            try await decrypt(entry, fileKey: fileKey) { try handle.write(contentsOf: $0) }
            try handle.synchronize()
            try handle.close()
            // rename(2) replaces a file atomically: a reader sees the old file or the new one.
            guard rename(temporary, destination) == 0 else {
                throw TwinClientError.invalidArgument("cannot write \(destination): \(String(cString: strerror(errno)))")
            }
            return entry
        } catch {
            try? handle.close()
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
    }

    /// `owner/name` as the server describes it (nothing checked yet); a refusal says the entry is
    /// not shared with this user, whether it exists or not.
    func readableEntry(owner: String, name: String) async throws -> EntryResponse {
        let entry: EntryResponse
        do {
            entry = try await api.entry(owner: owner, name: name)
        } catch let error as TwinClientError where error.serverCode == ErrorCode.accessDenied.rawValue {
            throw TwinClientError.accessDenied("\(owner)/\(name) is not shared with \(keyring.user)")
        }
        guard entry.owner == owner, entry.name == name else {
            throw TwinClientError.integrity("the server answered \(owner)/\(name) with \(entry.owner)/\(entry.name)")
        }
        return entry
    }

    /// Decrypts `entry`, whose file key is `fileKey`, into `write` in order, checking the manifest,
    /// every chunk's tag and AEAD, and the file tag.
    func decrypt(_ entry: EntryResponse, fileKey: SymmetricKey, write: ([UInt8]) async throws -> Void) async throws {
        guard let sealed = entry.sealedManifest else { throw TwinClientError.integrity("the server sent no manifest") }
        let api = self.api
        do {
            _ = try await ConvergentDecoder().decrypt(
                sealedManifest: Array(sealed), fileKey: fileKey, fileTag: entry.fileTag,
                fetch: { tag in try await api.chunk(owner: entry.owner, name: entry.name, tag: tag.hex) },
                write: write)
        } catch let integrity as IntegrityError {
            throw TwinClientError.integrity("\(integrity)")
        }
    }

    /// `name`'s keys as the server offers them; a name it does not know is a clear error.
    func registeredUser(_ name: String) async throws -> PeerKeys {
        do {
            return try await api.user(name)
        } catch let error as TwinClientError where error.serverCode == ErrorCode.notFound.rawValue {
            throw TwinClientError.invalidArgument("there is no user '\(name)' on \(api.baseURL): check the spelling")
        }
    }

    /// The largest entry `read` holds in memory.
    public static let largestRead = 256 << 20

    /// Downloads and decrypts `owner/name` (own when `owner` is nil) into memory, after the same
    /// checks as `get`; entries above `largestRead` are refused.
    public func read(owner: String?, name: String) async throws -> (entry: EntryResponse, bytes: [UInt8]) {
        let entry = try await readableEntry(owner: owner ?? keyring.user, name: name)
        guard entry.size <= Self.largestRead else { throw TwinClientError.invalidArgument("\(name) is too large to show (\(entry.size) bytes)") }
        let fileKey = try await fileKey(for: entry)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(entry.size)
        try await decrypt(entry, fileKey: fileKey) { bytes += $0 }
        return (entry, bytes)
    }

    /// Makes and uploads the thumbnail of this user's image entry `entry`, whose plaintext is
    /// `image`, under the entry's attributes (an entry from before thumbnails, seen in a gallery).
    /// Returns the thumbnail (empty: the image has no preview).
    public func addThumbnail(of entry: EntryResponse, image: [UInt8]) async throws -> [UInt8] {
        let thumbnail = (try? Thumbnail.make(from: image)) ?? []
        let prepared = try await prepare(bytes: thumbnail, name: Thumbnail.name(for: entry.name))
        do {
            _ = try await send([prepared], attributes: entry.attributes)
        } catch let error as TwinClientError where error.serverCode == ErrorCode.conflict.rawValue {
            // Made meanwhile by another run: theirs stands.
        }
        return thumbnail
    }

    /// The keys of `name` as pinned (pinning them on first sight); this user's own from the keyring.
    func peerKeys(_ name: String) async throws -> PeerKeys {
        if name == keyring.user { return keyring.publicKeys }
        if let pinned = knownKeys.pinned(name) { return pinned }
        return try knownKeys.check(try await registeredUser(name))
    }

    /// `K_M` from the owner's wrapped copy, or via the KP-ABE key the owner granted us; only for an
    /// entry its owner sealed (checked against the owner's pinned key).
    func fileKey(for entry: EntryResponse) async throws -> SymmetricKey {
        let owner = try await peerKeys(entry.owner)
        let fields = EntrySeal.Fields(owner: entry.owner, name: entry.name, fileTag: entry.fileTag, attributes: entry.attributes,
                                      attributeWrappedKey: Array(entry.attributeWrappedKey), mediaType: entry.mediaType, size: entry.size)
        guard let seal = EntrySeal(decoding: entry.ownerSeal), seal.isValid(for: fields, ownerKey: try owner.signing) else {
            throw TwinClientError.integrity("\(entry.owner)/\(entry.name) is not sealed by \(entry.owner)'s pinned key")
        }
        if entry.owner == keyring.user, let wrapped = entry.ownerWrappedKey {
            return try keyring.unwrapForOwner(wrapped, name: entry.name, fileTag: entry.fileTag.bytes)
        }
        guard let grant = try await api.grants().first(where: { $0.owner == entry.owner }) else {
            throw TwinClientError.accessDenied("\(entry.owner) has not granted \(keyring.user) a key")
        }
        let key = try keyring.openGrant(grant.sealedKey, from: owner, policy: grant.policy)
        do {
            return SymmetricKey(data: try WrappedKey(decoding: Array(entry.attributeWrappedKey)).unwrap(with: key, context: entry.fileTag.bytes))
        } catch KPABEError.policyNotSatisfied {
            throw TwinClientError.accessDenied("the granted policy '\(grant.policy)' does not open \(entry.attributes) as wrapped now "
                                               + "(the owner re-keyed after a revocation and has not re-issued this grant)")
        } catch {
            throw TwinClientError.integrity("the wrapped file key does not open: \(error)")
        }
    }

    // MARK: Share

    /// Issues a KP-ABE key for `policy` (at the keyring's attribute versions) from this user's authority, sealed to `grantee`'s pinned
    /// key (pinned now if this is the first contact); refused if the server offers other keys.
    public func grant(_ grantee: String, policy: String) async throws {
        let parsed = try PolicyParser.parse(policy)
        if let invalid = parsed.leaves.first(where: { !AttributeVersion.isValid($0) }) {
            throw TwinClientError.invalidArgument("attribute '\(invalid)' must be 1–\(AttributeVersion.maximumAttributeLength) bytes without '#'")
        }
        let recipient = try knownKeys.check(try await registeredUser(grantee))
        // The key is for the attributes at their present versions; the grant states the plain policy.
        let key = try KPABE.keyGen(try keyring.master, policy: keyring.versionedPolicy(parsed))
        let sealed = try keyring.sealGrant(key, policy: policy, to: recipient)
        try await api.putGrant(grantee: grantee, GrantRequest(policy: policy, sealedKey: sealed))
    }

    /// `user`'s keys as the server offers them now, and whether they match the pinned ones.
    public func fingerprint(of user: String) async throws -> (offered: PeerKeys, pinned: PeerKeys?) {
        if user == keyring.user { return (keyring.publicKeys, keyring.publicKeys) }
        return (try await registeredUser(user), knownKeys.pinned(user))
    }

    /// Pins `user`'s keys as the server offers them, if their fingerprint is `fingerprint` (checked
    /// out of band); refused otherwise.
    public func trust(_ user: String, fingerprint: String) async throws -> PeerKeys {
        let offered = try await registeredUser(user)
        let normalized = { (text: String) in text.lowercased().filter(\.isHexDigit) }
        guard normalized(offered.fingerprint) == normalized(fingerprint) else {
            throw TwinClientError.keyChanged(user: user, pinned: fingerprint, offered: offered.fingerprint)
        }
        try knownKeys.trust(offered)
        return offered
    }

}

/// The capsules of one session, by attribute set: made on first use, under the lock, so that
/// concurrent uploads of one run share a single capsule.
///
/// The authority's parameters are decoded (and validated: a GT subgroup check, an exponentiation)
/// with the first capsule, not when the session opens: an upload then pays for it while its first
/// files are being encoded, and commands that wrap nothing never do.
final class AttributeWrappers: Sendable {
    private struct State {
        var parameters: PublicParameters?
        var wrappers: [[String]: AttributeKeyWrapper] = [:]
    }

    private let encodedParameters: Data
    private let state = Mutex(State())

    init(encodedParameters: Data) {
        self.encodedParameters = encodedParameters
    }

    func wrapper(for attributes: [String]) throws -> AttributeKeyWrapper {
        let key = Array(Set(attributes)).sorted()
        return try state.withLock { state in
            if let known = state.wrappers[key] { return known }
            let parameters = try state.parameters ?? PublicParameters(decoding: Array(encodedParameters))
            state.parameters = parameters
            let made = try AttributeKeyWrapper(attributes: key, parameters: parameters)
            state.wrappers[key] = made
            return made
        }
    }
}
