import AsyncHTTPClient
import Convergent
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import TwinStorage

/// `BlobBackend` on an S3 bucket, addressed path-style (`http://HOST:PORT/BUCKET/KEY`, which Ceph
/// RGW and MinIO serve without DNS set-up). Blob `t` is the object `chunks/<hex of t>`.
///
/// S3's PUT is atomic (an object appears whole or not at all) and durable when it returns 200, and
/// two PUTs of one key leave one object: exactly `BlobBackend`'s contract. Failed requests are
/// retried with exponential backoff and jitter when S3 says so (5xx, `503 SlowDown`) or the
/// connection failed; refusals (403, a missing bucket) are reported at once as `S3Error`.
public struct S3BlobBackend: BlobBackend {
    public let endpoint: URL
    public let bucket: String
    public let signer: SignatureV4
    private let http: HTTPClient
    private let logger: Logger
    /// Requests in flight per `putAll`.
    private let parallelPuts = 8
    static let prefix = "chunks/"
    static let quarantinePrefix = "quarantine/"
    /// Attempts per request, the first included.
    static let attempts = 6
    /// How long one attempt may take. async-http-client keeps trying to connect until then, so
    /// this also bounds how long an unreachable endpoint holds a request.
    public var attemptTimeout: Duration = .seconds(30)

    public init(endpoint: URL, bucket: String, signer: SignatureV4, http: HTTPClient = .shared,
                logger: Logger = Logger(label: "twin.s3")) {
        self.endpoint = endpoint
        self.bucket = bucket
        self.signer = signer
        self.http = http
        self.logger = logger
    }

    /// From `s3:http://HOST:PORT/BUCKET` and restic's environment: `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, optionally `AWS_SESSION_TOKEN`, and `AWS_DEFAULT_REGION`
    /// (default `us-east-1`).
    public init(location: String, environment: [String: String] = ProcessInfo.processInfo.environment,
                http: HTTPClient = .shared, logger: Logger = Logger(label: "twin.s3")) throws {
        let url = location.hasPrefix("s3:") ? String(location.dropFirst(3)) : location
        guard let components = URLComponents(string: url), let scheme = components.scheme, ["http", "https"].contains(scheme),
              let host = components.host, !host.isEmpty else {
            throw S3Error.invalidLocation("expected s3:http://HOST:PORT/BUCKET, got \(location)")
        }
        let path = components.path.split(separator: "/")
        guard path.count == 1 else { throw S3Error.invalidLocation("expected exactly one bucket name in \(location)") }
        guard let accessKey = environment["AWS_ACCESS_KEY_ID"], let secretKey = environment["AWS_SECRET_ACCESS_KEY"],
              !accessKey.isEmpty, !secretKey.isEmpty else {
            throw S3Error.invalidLocation("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for \(location)")
        }
        var base = URLComponents()
        base.scheme = scheme
        base.host = host
        base.port = components.port
        self.init(endpoint: base.url!, bucket: String(path[0]),
                  signer: SignatureV4(credentials: .init(accessKey: accessKey, secretKey: secretKey,
                                                         sessionToken: environment["AWS_SESSION_TOKEN"]),
                                      region: environment["AWS_DEFAULT_REGION"] ?? "us-east-1"),
                  http: http, logger: logger)
    }

    private func key(_ tag: Tag) -> String { Self.prefix + tag.hex }

    // MARK: BlobBackend

    public func put(_ tag: Tag, _ bytes: [UInt8]) async throws {
        _ = try await send("PUT", key: key(tag), body: bytes, expecting: [200])
    }

    public func putAll(_ blobs: [(tag: Tag, bytes: [UInt8])]) async throws {
        var stored: [Tag] = []
        var failure: (any Error)?
        await withTaskGroup(of: (Tag, (any Error)?).self) { group in
            var next = blobs.startIndex
            func start() {
                guard next < blobs.endIndex else { return }
                let blob = blobs[next]
                next += 1
                group.addTask {
                    do {
                        try await self.put(blob.tag, blob.bytes)
                        return (blob.tag, nil)
                    } catch {
                        return (blob.tag, error)
                    }
                }
            }
            for _ in 0..<parallelPuts { start() }
            for await (tag, error) in group {
                if let error { failure = failure ?? error } else { stored.append(tag) }
                if failure == nil { start() }
            }
        }
        if let failure { throw BlobBatchWriteError(stored: stored, underlying: failure) }
    }

    public func get(_ tag: Tag) async throws -> [UInt8]? {
        let response = try await send("GET", key: key(tag), expecting: [200, 404])
        return response.status == 404 ? nil : response.body
    }

    public func delete(_ tag: Tag) async throws {
        _ = try await send("DELETE", key: key(tag), expecting: [200, 204, 404])
    }

    /// Server-side copy to `quarantine/<hex>.<unix time>`, then delete.
    public func quarantine(_ tag: Tag) async throws {
        let target = Self.quarantinePrefix + tag.hex + "." + String(Int(Date().timeIntervalSince1970))
        let copied = try await send("PUT", key: target, headers: [("x-amz-copy-source", "/\(bucket)/\(key(tag))")],
                                    expecting: [200, 404])
        if copied.status == 200 { try await delete(tag) }
    }

    /// ListObjectsV2 under `chunks/`, page by page (1,000 keys each).
    public func list() -> AsyncThrowingStream<Tag, any Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    var token: String?
                    repeat {
                        var query = [(name: "list-type", value: "2"), (name: "prefix", value: Self.prefix)]
                        if let token { query.append((name: "continuation-token", value: token)) }
                        let response = try await send("GET", key: nil, query: query, expecting: [200])
                        let page = ListPage(xml: String(decoding: response.body, as: UTF8.self))
                        for key in page.keys {
                            let hex = key.dropFirst(Self.prefix.count)
                            if let tag = Tag(hex: String(hex)), tag.hex == hex { continuation.yield(tag) }
                        }
                        token = page.isTruncated ? page.nextToken : nil
                    } while token != nil
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    // MARK: Bucket

    /// Checks that the bucket exists and the credentials may use it: a clear `S3Error` at start
    /// instead of a failure at the first upload.
    public func checkBucket() async throws {
        _ = try await send("HEAD", key: nil, expecting: [200])
    }

    /// Creates the bucket; an existing bucket of the same owner is not an error.
    public func createBucket() async throws {
        _ = try await send("PUT", key: nil, expecting: [200, 409])
    }

    // MARK: Requests

    struct Response {
        var status: UInt
        var body: [UInt8]
    }

    /// Sends a signed request, retrying transient failures; a status outside `expecting` throws.
    fileprivate func send(_ method: String, key: String?, query: [(name: String, value: String)] = [],
                      headers extra: [(name: String, value: String)] = [], body: [UInt8] = [],
                      expecting: Set<UInt>) async throws -> Response {
        var attempt = 0
        while true {
            attempt += 1
            let outcome: Result<Response, any Error>
            do {
                outcome = .success(try await sendOnce(method, key: key, query: query, headers: extra, body: body))
            } catch {
                outcome = .failure(error)
            }
            switch outcome {
            case .success(let response) where expecting.contains(response.status):
                return response
            case .success(let response):
                let error = S3Error(status: response.status, body: response.body, bucket: bucket, key: key)
                guard error.isTransient, attempt < Self.attempts else { throw error }
                logger.debug("S3 \(method) retried", metadata: ["status": "\(response.status)", "attempt": "\(attempt)"])
            case .failure(let error):
                guard attempt < Self.attempts, !(error is CancellationError) else {
                    throw S3Error.unreachable(endpoint: endpoint.absoluteString, reason: "\(error)")
                }
                logger.debug("S3 \(method) retried", metadata: ["error": "\(error)", "attempt": "\(attempt)"])
            }
            // Exponential backoff with full jitter: 50 ms, 100 ms, … up to 1.6 s.
            let ceiling = 50 << min(attempt - 1, 5)
            try await Task.sleep(for: .milliseconds(Int.random(in: ceiling / 2...ceiling)))
        }
    }

    private func sendOnce(_ method: String, key: String?, query: [(name: String, value: String)],
                          headers extra: [(name: String, value: String)], body: [UInt8]) async throws -> Response {
        let path = "/" + bucket + (key.map { "/" + $0 } ?? "")
        var hostHeader = endpoint.host ?? ""
        if let port = endpoint.port { hostHeader += ":\(port)" }
        let payloadHash = SignatureV4.payloadHash(body)
        var headers = [(name: "host", value: hostHeader), (name: "x-amz-content-sha256", value: payloadHash)] + extra
        headers += signer.sign(.init(method: method, path: path, query: query, headers: headers, payloadHash: payloadHash), at: Date())

        let queryString = query.map { "\(SignatureV4.encode($0.name, slash: true))=\(SignatureV4.encode($0.value, slash: true))" }
            .joined(separator: "&")
        var request = HTTPClientRequest(url: endpoint.absoluteString.trimmingSuffix("/") + SignatureV4.encode(path, slash: false)
                                        + (queryString.isEmpty ? "" : "?" + queryString))
        request.method = HTTPMethod(rawValue: method)
        for header in headers { request.headers.add(name: header.name, value: header.value) }
        if method == "PUT" || !body.isEmpty {
            request.headers.replaceOrAdd(name: "content-length", value: String(body.count))
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await http.execute(request, timeout: .nanoseconds(Int64(attemptTimeout / .nanoseconds(1))))
        let collected = method == "HEAD" ? ByteBuffer() : try await response.body.collect(upTo: 64 << 20)
        return Response(status: response.status.code, body: Array(buffer: collected))
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> String { hasSuffix(suffix) ? String(dropLast(suffix.count)) : self }
}

/// Why an S3 request failed.
public enum S3Error: Error, Equatable, Sendable, CustomStringConvertible {
    /// 403: wrong keys, a signature the server rejects (a clock far off), or no permission.
    case accessDenied(code: String, message: String)
    /// The bucket does not exist.
    case noSuchBucket(String)
    /// Any other refusal.
    case unexpectedStatus(status: UInt, code: String, message: String)
    /// No answer after every retry.
    case unreachable(endpoint: String, reason: String)
    /// The `s3:` location or the credentials are unusable.
    case invalidLocation(String)

    init(status: UInt, body: [UInt8], bucket: String, key: String?) {
        let xml = String(decoding: body, as: UTF8.self)
        let code = ListPage.element("Code", in: xml) ?? ""
        let message = ListPage.element("Message", in: xml) ?? ""
        switch (status, code) {
        case (403, _): self = .accessDenied(code: code.isEmpty ? "AccessDenied" : code, message: message)
        case (404, "NoSuchBucket"), (404, "") where key == nil: self = .noSuchBucket(bucket)
        default: self = .unexpectedStatus(status: status, code: code, message: message)
        }
    }

    /// Worth retrying: server errors (503 SlowDown among them) and throttling.
    var isTransient: Bool {
        switch self {
        case .unexpectedStatus(let status, let code, _): status >= 500 || code == "SlowDown" || status == 429
        default: false
        }
    }

    public var description: String {
        switch self {
        case .accessDenied(let code, let message):
            "S3 refused access (\(code)\(message.isEmpty ? "" : ": \(message)")): check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION and the clock"
        case .noSuchBucket(let bucket): "the S3 bucket \(bucket) does not exist: create it first"
        case .unexpectedStatus(let status, let code, let message): "S3 answered \(status) \(code) \(message)"
        case .unreachable(let endpoint, let reason): "cannot reach S3 at \(endpoint): \(reason)"
        case .invalidLocation(let reason): reason
        }
    }
}

/// What a ListObjectsV2 page says: its keys, and where the next page starts.
struct ListPage {
    var keys: [String] = []
    var isTruncated = false
    var nextToken: String?

    init(xml: String) {
        var rest = xml[...]
        while let range = rest.range(of: "<Key>"), let end = rest.range(of: "</Key>", range: range.upperBound..<rest.endIndex) {
            keys.append(Self.unescape(String(rest[range.upperBound..<end.lowerBound])))
            rest = rest[end.upperBound...]
        }
        isTruncated = Self.element("IsTruncated", in: xml) == "true"
        nextToken = Self.element("NextContinuationToken", in: xml)
    }

    /// The text of the first `<name>` element, unescaped.
    static func element(_ name: String, in xml: String) -> String? {
        guard let start = xml.range(of: "<\(name)>"), let end = xml.range(of: "</\(name)>", range: start.upperBound..<xml.endIndex) else {
            return nil
        }
        return unescape(String(xml[start.upperBound..<end.lowerBound]))
    }

    private static func unescape(_ text: String) -> String {
        text.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&")
    }
}

extension S3BlobBackend {
    /// Deletes every object (quarantined ones too), then the bucket: tests clean up after themselves.
    package func deleteBucket() async throws {
        while true {
            let response = try await send("GET", key: nil, query: [(name: "list-type", value: "2")], expecting: [200, 404])
            let keys = response.status == 404 ? [] : ListPage(xml: String(decoding: response.body, as: UTF8.self)).keys
            if keys.isEmpty { break }
            for key in keys { _ = try await send("DELETE", key: key, expecting: [200, 204, 404]) }
        }
        _ = try await send("DELETE", key: nil, expecting: [200, 204, 404])
    }
}
