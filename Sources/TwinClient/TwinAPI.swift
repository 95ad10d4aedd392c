import AsyncHTTPClient
import Convergent
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import TwinOPRF
import TwinProtocol

/// The HTTP side of a client: one method per API operation, JSON in and out, server errors turned
/// into `TwinClientError.server` with the server's stable code.
public struct TwinAPI: Sendable {
    public private(set) var baseURL: String
    /// Shared by copies of this client, so a renewed login serves them all.
    let bearer = BearerToken()
    /// Logs in again when the server refuses the bearer token (it expired, or the server forgot it);
    /// the refused request is then sent once more.
    var renewLogin: (@Sendable (TwinAPI) async throws -> Void)?
    private let injectedHTTP: HTTPClient?
    /// The shared client is reached on the first request, not before, so starting its event loops
    /// overlaps the encoding of an upload's first files.
    var http: HTTPClient { injectedHTTP ?? Self.shared }
    /// Like `HTTPClient.shared`, but a server that refuses connections is reported after a few
    /// seconds of retrying, not at the request's deadline: nobody waits two minutes to learn that
    /// `twin serve` is not running.
    static let shared = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup,
                                   configuration: .init(timeout: .init(connect: .seconds(3))))
    static let timeout: TimeAmount = .seconds(120)
    /// How often, and for how long at most each time, a 429 or 503 with `Retry-After` is waited out.
    static let busyRetries = 5
    static let longestRetryWait = 30

    var token: String? {
        get { bearer.value.withLock { $0 } }
        nonmutating set { bearer.value.withLock { $0 = newValue } }
    }

    /// `http` defaults to one client per process (`shared`).
    public init(baseURL: String, http: HTTPClient? = nil) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        injectedHTTP = http
    }

    /// This client at another base URL (a separate key server), sharing its bearer token and login.
    func rebased(_ url: String) -> TwinAPI {
        var copy = self
        copy.baseURL = url.hasSuffix("/") ? String(url.dropLast()) : url
        return copy
    }

    /// The public key a separate key server publishes (`GET /v1/keyserver`): what a storage server
    /// started with `--key-server` publishes in turn.
    public func keyServerPublicKey() async throws -> OPRFPublicKey {
        let info = try TwinProtocol.makeDecoder().decode(KeyServerInfo.self, from: Data(
            try await sendOnce(.GET, "/v1/keyserver", buffer: nil, contentType: "application/json", limit: 1 << 16, token: nil)))
        return try OPRFPublicKey(derRepresentation: info.publicKey)
    }

    /// `POST /v1/keys` (the server's own, or a separate key server's after `rebased`).
    func evaluateKeys(_ request: KeyEvaluationRequest) async throws -> KeyEvaluationResponse {
        try await json(.POST, "/v1/keys", request, as: KeyEvaluationResponse.self)
    }

    /// Runs a request, turning a transport failure (no server, a bad URL, a timeout) into an
    /// error that names the server and what to check.
    private func reach<T>(_ request: () async throws -> T) async throws -> T {
        do {
            return try await request()
        } catch let error as TwinClientError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw TwinClientError.unreachable(server: baseURL, reason: Self.describeTransportError(error))
        }
    }

    static func describeTransportError(_ error: any Error) -> String {
        if let client = error as? HTTPClientError {
            if [.emptyScheme, .emptyHost, .invalidURL].contains(client) || "\(client)".contains("unsupportedScheme") {
                return "the URL is not http://HOST:PORT"
            }
            if [.connectTimeout, .readTimeout, .deadlineExceeded].contains(client) { return "no answer in time" }
            if client == .remoteConnectionClosed { return "the server closed the connection" }
        }
        let text = "\(error)"
        if text.contains("refused") { return "connection refused" }
        if text.contains("resolve") || text.contains("NXDOMAIN") || text.contains("getaddrinfo") { return "the host name does not resolve" }
        return text
    }

    static func escape(_ component: String) -> String {
        component.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~")))!
    }

    func send(_ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, contentType: String = "application/json",
              limit: Int = 32 << 20) async throws -> [UInt8] {
        try await send(method, path, buffer: body.map { ByteBuffer(bytes: $0) }, contentType: contentType, limit: limit)
    }

    func send(_ method: HTTPMethod, _ path: String, buffer body: ByteBuffer?, contentType: String = "application/json",
              limit: Int = 32 << 20) async throws -> [UInt8] {
        let used = token
        do {
            return try await sendOnce(method, path, buffer: body, contentType: contentType, limit: limit, token: used)
        } catch let error as TwinClientError where error.serverCode == ErrorCode.unauthenticated.rawValue && used != nil {
            guard let renewLogin else { throw error }
            // Requests refused together share one login; one refused after it just retries.
            try await bearer.renew(replacing: used) { try await renewLogin(self) }
            return try await sendOnce(method, path, buffer: body, contentType: contentType, limit: limit, token: token)
        }
    }

    private func sendOnce(_ method: HTTPMethod, _ path: String, buffer body: ByteBuffer?, contentType: String,
                          limit: Int, token: String?) async throws -> [UInt8] {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(body)
        }
        var response = try await reach { try await http.execute(request, timeout: Self.timeout) }
        // A server at a limit (429) or at capacity (503) names when to come back: a short wait is
        // honoured a few times, so honest clients ride out limits instead of failing.
        for _ in 0..<Self.busyRetries {
            guard response.status == .tooManyRequests || response.status == .serviceUnavailable,
                  let seconds = response.headers.first(name: "Retry-After").flatMap(Int.init),
                  (0...Self.longestRetryWait).contains(seconds) else { break }
            _ = try? await response.body.collect(upTo: 1 << 16)
            try await Task.sleep(for: .seconds(seconds))
            response = try await reach { try await http.execute(request, timeout: Self.timeout) }
        }
        let bytes = Array(buffer: try await response.body.collect(upTo: limit))
        guard (200..<300).contains(response.status.code) else {
            let detail = try? TwinProtocol.makeDecoder().decode(ErrorBody.self, from: Data(bytes))
            throw TwinClientError.server(status: Int(response.status.code), code: detail?.error.code ?? "http_\(response.status.code)",
                                         message: detail?.error.message ?? String(decoding: bytes.prefix(200), as: UTF8.self))
        }
        return bytes
    }

    func json<Response: Decodable>(_ method: HTTPMethod, _ path: String, _ body: (some Encodable)? = Optional<String>.none,
                                   as: Response.Type) async throws -> Response {
        let data = try body.map { Array(try TwinProtocol.makeEncoder().encode($0)) }
        return try TwinProtocol.makeDecoder().decode(Response.self, from: Data(try await send(method, path, body: data)))
    }

    /// A JSON request sent without the bearer token (logging in), never renewed.
    func anonymousJSON<Response: Decodable>(_ path: String, _ body: some Encodable, as: Response.Type) async throws -> Response {
        let data = ByteBuffer(bytes: try TwinProtocol.makeEncoder().encode(body))
        return try TwinProtocol.makeDecoder().decode(
            Response.self, from: Data(try await sendOnce(.POST, path, buffer: data, contentType: "application/json", limit: 1 << 20, token: nil)))
    }

    // MARK: Operations

    func register(_ request: RegisterRequest) async throws -> UserResponse {
        try await json(.POST, "/v1/users", request, as: UserResponse.self)
    }

    /// `GET /v1/server`, without credentials.
    func serverInfo() async throws -> ServerInfoResponse {
        try TwinProtocol.makeDecoder().decode(ServerInfoResponse.self, from: Data(
            try await sendOnce(.GET, "/v1/server", buffer: nil, contentType: "application/json", limit: 1 << 16, token: nil)))
    }

    func user(_ name: String) async throws -> UserResponse {
        try await json(.GET, "/v1/users/\(Self.escape(name))", as: UserResponse.self)
    }

    /// Logs in: signs the server's nonce with the identity key. Returns the new token, now in use.
    @discardableResult
    func login(user: String, signingKey: Curve25519.Signing.PrivateKey, server: [UInt8]) async throws -> TokenResponse {
        // Without the current token, which stays in use by other requests until the new one is in.
        let challenge = try await anonymousJSON("/v1/auth/challenge", LoginChallengeRequest(user: user), as: LoginChallengeResponse.self)
        let signature = try signingKey.signature(for: TwinProtocol.loginMessage(server: server, user: user, nonce: Array(challenge.nonce)))
        let issued = try await anonymousJSON("/v1/auth/token", TokenRequest(user: user, nonce: challenge.nonce, signature: signature),
                                             as: TokenResponse.self)
        token = issued.token
        return issued
    }

    /// `GET /healthz`, without credentials: it changes nothing, and leaves an open connection behind
    /// for the next request.
    func health() async throws {
        _ = try await sendOnce(.GET, "/healthz", buffer: nil, contentType: "application/json", limit: 1 << 16, token: nil)
    }

    func beginUpload(_ request: BeginUploadRequest) async throws -> BeginUploadResponse {
        try await json(.POST, "/v1/uploads", request, as: BeginUploadResponse.self)
    }

    func putChunk(session: String, tag: String, _ chunk: HashedCiphertext) async throws {
        _ = try await send(.PUT, "/v1/uploads/\(Self.escape(session))/chunks/\(tag)", buffer: chunk.withUnsafeBytes { ByteBuffer(bytes: $0) },
                           contentType: "application/octet-stream")
    }

    /// Sends `chunks` in one `ChunkBundle` request.
    func postChunks(session: String, _ chunks: [HashedCiphertext]) async throws {
        var body = ByteBuffer()
        body.reserveCapacity(chunks.reduce(0) { $0 + ChunkBundle.recordHeaderSize + $1.count })
        for chunk in chunks {
            body.writeBytes(ChunkBundle.header(tag: chunk.tag, length: chunk.count))
            chunk.withUnsafeBytes { _ = body.writeBytes($0) }
        }
        _ = try await send(.POST, "/v1/uploads/\(Self.escape(session))/chunks", buffer: body, contentType: "application/octet-stream")
    }

    func proveOwnership(session: String, _ proof: [UInt8]) async throws {
        _ = try await send(.POST, "/v1/uploads/\(Self.escape(session))/proof", body: proof, contentType: "application/octet-stream")
    }

    /// The server answers a commit with the entries it added, which a client has already: the answer
    /// is checked for success only, not decoded.
    func commit(session: String, _ request: CommitRequest) async throws {
        _ = try await send(.POST, "/v1/uploads/\(Self.escape(session))/commit", body: Array(try TwinProtocol.makeEncoder().encode(request)))
    }

    /// Every own entry, page by page.
    func entries() async throws -> [EntryResponse] {
        var all: [EntryResponse] = []
        try await forEachEntryPage(owner: nil, prefix: "") { all += $0 }
        return all
    }

    /// One page of `owner`'s entries the caller may read (own entries when `owner` is nil).
    func entryPage(owner: String?, prefix: String, after: String?, limit: Int? = nil) async throws -> EntryListResponse {
        var query = ["prefix=\(Self.escape(prefix))"]
        if let after { query.append("after=\(Self.escape(after))") }
        if let limit { query.append("limit=\(limit)") }
        let path = owner.map { "/v1/files/\(Self.escape($0))" } ?? "/v1/files"
        return try await json(.GET, path + "?" + query.joined(separator: "&"), as: EntryListResponse.self)
    }

    /// Calls `body` with each page of a listing, in order, until the last.
    func forEachEntryPage(owner: String?, prefix: String, limit: Int? = nil,
                          _ body: ([EntryResponse]) async throws -> Void) async throws {
        var after: String?
        repeat {
            let page = try await entryPage(owner: owner, prefix: prefix, after: after, limit: limit)
            try await body(page.entries)
            guard page.next == nil || page.next != after else { throw TwinClientError.integrity("the server's listing did not advance") }
            after = page.next
        } while after != nil
    }
    /// Every entry shared with this user, page by page.
    func shared() async throws -> [EntryResponse] {
        var all: [EntryResponse] = []
        var after: String?
        repeat {
            let page = try await json(.GET, "/v1/shared" + (after.map { "?after=\(Self.escape($0))" } ?? ""), as: EntryListResponse.self)
            all += page.entries
            guard page.next == nil || page.next != after else { throw TwinClientError.integrity("the server's listing did not advance") }
            after = page.next
        } while after != nil
        return all
    }

    func entry(owner: String, name: String) async throws -> EntryResponse {
        try await json(.GET, "/v1/files/\(Self.escape(owner))/\(Self.escape(name))", as: EntryResponse.self)
    }

    func chunk(owner: String, name: String, tag: String) async throws -> [UInt8] {
        try await send(.GET, "/v1/files/\(Self.escape(owner))/\(Self.escape(name))/chunks/\(tag)")
    }

    func delete(owner: String, name: String) async throws {
        _ = try await send(.DELETE, "/v1/files/\(Self.escape(owner))/\(Self.escape(name))")
    }

    func putGrant(grantee: String, _ request: GrantRequest) async throws {
        _ = try await json(.PUT, "/v1/grants/\(Self.escape(grantee))", request, as: GrantResponse.self)
    }

    func revokeGrant(grantee: String) async throws { _ = try await send(.DELETE, "/v1/grants/\(Self.escape(grantee))") }
    func grants() async throws -> [GrantResponse] { try await json(.GET, "/v1/grants", as: GrantListResponse.self).grants }
    func issuedGrants() async throws -> [GrantResponse] { try await json(.GET, "/v1/issued-grants", as: GrantListResponse.self).grants }

    func updateEntryKeys(owner: String, _ request: EntryKeysRequest) async throws {
        _ = try await send(.PATCH, "/v1/files/\(Self.escape(owner))", body: Array(try TwinProtocol.makeEncoder().encode(request)))
    }
    func stats() async throws -> StatsResponse { try await json(.GET, "/v1/stats", as: StatsResponse.self) }
}

/// The bearer token and the login renewing it, if one is under way: requests refused with the same
/// token wait for one shared login instead of each logging in.
final class BearerToken: Sendable {
    let value = Mutex<String?>(nil)
    private let renewal = Mutex<(replacing: String?, task: Task<Void, any Error>)?>(nil)

    /// Runs `login` unless the token is no longer `used` (another request renewed it already) or a
    /// login replacing `used` is under way, which this then waits for.
    func renew(replacing used: String?, _ login: @escaping @Sendable () async throws -> Void) async throws {
        let task: Task<Void, any Error>? = renewal.withLock { renewal in
            if value.withLock({ $0 }) != used { return nil }
            if let running = renewal, running.replacing == used { return running.task }
            let task = Task {
                do {
                    try await login()
                } catch {
                    // A failed login is not shared with later requests: they may try again.
                    self.renewal.withLock { if $0?.replacing == used { $0 = nil } }
                    throw error
                }
            }
            renewal = (used, task)
            return task
        }
        try await task?.value
    }
}
