import Crypto
import Foundation
import Hummingbird
import TwinProtocol
import TwinStorage

/// Per-request state: who is calling (the peer's address, and the user once the bearer token
/// checked out).
public struct TwinRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var user: String?
    /// The peer's IP address, the key of per-address rate limits ("unknown" without a socket, in tests).
    public let address: String

    public init(source: Source) {
        coreContext = .init(source: source)
        user = nil
        address = source.channel.remoteAddress?.ipAddress ?? "unknown"
    }

    /// The bound of Hummingbird's own body reads; every route of this API reads its body with a
    /// bound of its own from `ServerLimits` instead.
    public var maxUploadSize: Int { 1 << 20 }
    public var requestDecoder: JSONDecoder { TwinProtocol.makeDecoder() }
    public var responseEncoder: JSONEncoder { TwinProtocol.makeEncoder() }

    func requireUser() throws -> String {
        guard let user else { throw APIError.unauthenticated }
        return user
    }
}

/// Resolves `Authorization: Bearer …` to a user. Only the token's SHA-256 is ever stored or compared,
/// so a leaked database holds no usable tokens.
struct AuthenticationMiddleware: RouterMiddleware {
    let store: any MetadataStore

    func handle(_ request: Request, context: TwinRequestContext,
                next: (Request, TwinRequestContext) async throws -> Response) async throws -> Response {
        var context = context
        if let header = request.headers[.authorization] {
            guard header.hasPrefix("Bearer "), let token = Data(base64URLEncoded: String(header.dropFirst(7))) else {
                throw APIError.unauthenticated
            }
            let hash = Array(SHA256.hash(data: token))
            guard let user = try await store.sessionUser(tokenHash: hash, now: Date()) else { throw APIError.unauthenticated }
            context.user = user
        }
        return try await next(request, context)
    }
}

/// Spends one token of the peer address's bucket per request: the routes that need no login
/// (registration, user lookup, login) are where an anonymous flood would land.
struct AddressRateLimitMiddleware: RouterMiddleware {
    let limiter: RateLimiter

    func handle(_ request: Request, context: TwinRequestContext,
                next: (Request, TwinRequestContext) async throws -> Response) async throws -> Response {
        if let wait = limiter.spend(context.address) { throw APIError.rateLimited("requests from \(context.address)", retryAfter: wait) }
        return try await next(request, context)
    }
}

extension Data {
    /// RFC 4648 §5 base64url without padding, as bearer tokens use.
    public init?(base64URLEncoded text: String) {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        self.init(base64Encoded: base64)
    }

    public func base64URLEncodedString() -> String {
        base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}

extension Parameters {
    /// A path parameter, percent-decoded (entry names may hold spaces and any UTF-8).
    func decoded(_ name: String) throws -> String {
        guard let raw = get(name), let value = raw.removingPercentEncoding else {
            throw APIError.badRequest("missing or malformed path parameter '\(name)'")
        }
        return value
    }
}
