import Hummingbird
import NIOCore
import TwinProtocol

/// An error the API returns: an HTTP status and a JSON body with a stable code.
public struct APIError: Error, HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var code: ErrorCode
    public var message: String
    /// Headers beside the JSON body: `Retry-After` (429 and 503), `Allow` (405).
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, _ code: ErrorCode, _ message: String, retryAfter: Int? = nil,
                headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
        if let retryAfter { self.headers[.retryAfter] = String(retryAfter) }
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let body = try TwinProtocol.makeEncoder().encode(ErrorBody(code: code.rawValue, message: message))
        var headers = self.headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// 429: a rate in `ServerLimits` is spent; `seconds` until the next request may pass.
    static func rateLimited(_ what: String, retryAfter seconds: Int) -> APIError {
        APIError(.tooManyRequests, .rateLimited, "too many \(what); retry in \(seconds) s", retryAfter: seconds)
    }

    /// 429: a count in `ServerLimits` is reached; it frees up as the user's earlier work commits
    /// or expires, which a client cannot hurry, so it is told to come back a minute later.
    static func limitReached(_ message: String) -> APIError {
        APIError(.tooManyRequests, .limitReached, message, retryAfter: 60)
    }

    static func badRequest(_ message: String) -> APIError { APIError(.badRequest, .badRequest, message) }
    /// 422: well-formed by the API document, but not acceptable (a tag, key or encoding that does
    /// not check out, lists that disagree): what no schema can say.
    static func unprocessable(_ message: String) -> APIError { APIError(.unprocessableContent, .unprocessable, message) }
    static func notFound(_ message: String) -> APIError { APIError(.notFound, .notFound, message) }
    static let unauthenticated = APIError(.unauthorized, .unauthenticated, "a valid bearer token is required")
    static let accessDenied = APIError(.forbidden, .accessDenied, "access denied")
}
