import BrowserAccess
import Foundation
import Hummingbird
import HTTPTypes

/// The gallery's gate, before any route: the Host header must name this loopback listener (a page
/// on another site that rebinds its DNS name to 127.0.0.1 sends its own name), the request must
/// carry the token (first in the URL, then in the cookie that exchanging it sets), and a form post
/// must come from this origin. Every answer is marked uncacheable and confined by a strict policy.
struct GallerySecurity<Context: RequestContext>: RouterMiddleware {
    let port: Int
    let token: PageToken

    /// Cookies are scoped by host, not port: each gallery's cookie is named after its port, so two
    /// galleries on one machine (two users) do not overwrite each other's.
    init(port: Int, token: String) {
        self.port = port
        self.token = PageToken(secret: token, cookieName: "twin_gallery_\(port)", cookiePath: "/")
    }

    var allowedHosts: Set<String> { ["127.0.0.1:\(port)", "localhost:\(port)"] }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await gate(request, context: context, next: next)
        response.headers[.cacheControl] = "no-store"
        response.headers[.contentSecurityPolicy] =
            "default-src 'none'; img-src 'self'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        response.headers[.xContentTypeOptions] = "nosniff"
        // Same-origin (not no-referrer): browsers then send this origin, not "null", with the page's own form posts.
        response.headers[HTTPField.Name("Referrer-Policy")!] = "same-origin"
        return response
    }

    private func gate(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let host = request.head.authority, allowedHosts.contains(host.lowercased()) else {
            return Self.refusal(.forbidden, "This gallery answers only at http://127.0.0.1:\(port)/.")
        }
        switch token.presentation(of: request) {
        case .exchange: return token.exchange(redirectingTo: request.uri.path)
        case .wrongLink: return Self.refusal(.unauthorized, "This link's token is not this gallery's.")
        case .missing: return Self.refusal(.unauthorized, "Open the link 'twin gallery' printed: it carries this gallery's token.")
        case .valid: break
        }
        if request.method == .post {
            let origin = request.headers[.origin]
            guard origin == nil || allowedHosts.contains(where: { origin == "http://\($0)" }) else {
                return Self.refusal(.forbidden, "Forms are taken only from this gallery's own pages.")
            }
        }
        return try await next(request, context)
    }

    static func refusal(_ status: HTTPResponse.Status, _ message: String) -> Response {
        let page = GalleryTemplates.render("message", ["title": "TwinStore gallery", "message": message]) ?? message
        return Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: page)))
    }
}
