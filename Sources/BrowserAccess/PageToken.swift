import Crypto
import Foundation
import Hummingbird

/// A page's secret and the cookie that carries it. The first request brings the token in the link
/// (`?token=`); it is answered with a redirect that sets the cookie and drops the token from the
/// address bar (and so from history and from the Referer of later requests). Later requests carry
/// the cookie, or, where `acceptsBearer` allows, an `Authorization: Bearer` header.
public struct PageToken: Sendable {
    public let secret: String
    public let cookieName: String
    /// The path the cookie is sent to.
    public let cookiePath: String
    public let acceptsBearer: Bool

    public init(secret: String, cookieName: String, cookiePath: String, acceptsBearer: Bool = false) {
        self.secret = secret
        self.cookieName = cookieName
        self.cookiePath = cookiePath
        self.acceptsBearer = acceptsBearer
    }

    /// What a request shows of the token.
    public enum Presentation: Equatable, Sendable {
        /// The link's token, right: answer with `exchange(redirectingTo:)`.
        case exchange
        /// The link's token, wrong.
        case wrongLink
        /// The cookie (or bearer header) with the right token.
        case valid
        /// No token, or a wrong one in the cookie or header.
        case missing
    }

    public func presentation(of request: Request) -> Presentation {
        if let offered = request.uri.queryParameters["token"] {
            return Self.equal(String(offered), secret) ? .exchange : .wrongLink
        }
        let presented = (acceptsBearer ? Self.bearer(request) : nil) ?? cookie(in: request)
        return presented.map { Self.equal($0, secret) } == true ? .valid : .missing
    }

    /// The redirect that sets the cookie, to `location` (the page's path, without the token).
    public func exchange(redirectingTo location: String) -> Response {
        Response(status: .seeOther, headers: [
            .location: location, .cacheControl: "no-store",
            .setCookie: "\(cookieName)=\(secret); Path=\(cookiePath); HttpOnly; SameSite=Strict",
        ])
    }

    /// Whether the request carries the token as `Authorization: Bearer` (scrapers, scripts).
    public func isBearer(of request: Request) -> Bool {
        Self.bearer(request).map { Self.equal($0, secret) } == true
    }

    func cookie(in request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let parts = pair.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0] == cookieName { return String(parts[1]) }
            }
        }
        return nil
    }

    static func bearer(_ request: Request) -> String? {
        request.headers[.authorization].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
    }

    /// Constant-time comparison of two tokens: HMAC equality under a fresh key, so neither length
    /// nor the first differing byte shows in the time taken.
    public static func equal(_ a: String, _ b: String) -> Bool {
        let key = SymmetricKey(size: .bits256)
        return HMAC<SHA256>.isValidAuthenticationCode(HMAC<SHA256>.authenticationCode(for: Data(a.utf8), using: key),
                                                       authenticating: Data(b.utf8), using: key)
    }
}
