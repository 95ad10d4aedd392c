import Hummingbird
import NIOCore
import TwinProtocol

/// An error the API returns: an HTTP status and a JSON body with a stable code.
public struct APIError: Error, HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var code: ErrorCode
    public var message: String

    public init(_ status: HTTPResponse.Status, _ code: ErrorCode, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let body = try TwinProtocol.makeEncoder().encode(ErrorBody(code: code.rawValue, message: message))
        return Response(status: status, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    static func badRequest(_ message: String) -> APIError { APIError(.badRequest, .badRequest, message) }
    static func notFound(_ message: String) -> APIError { APIError(.notFound, .notFound, message) }
    static let unauthenticated = APIError(.unauthorized, .unauthenticated, "a valid bearer token is required")
    static let accessDenied = APIError(.forbidden, .accessDenied, "access denied")
}
