import Crypto
import Foundation
import Hummingbird
import Mustache
import TwinStorage

/// The operator's dashboard (`GET /dashboard`): logical against stored bytes and the dedup ratio
/// with their history, users with their entries and bytes against the quota, request, error and
/// upload rates, the garbage collector's last pass and health. Totals only: nothing per file or per
/// chunk, and under a dedup threshold the store totals are the coarse ones `/v1/stats` gives.
/// Behind the admin token: `?token=` once (exchanged for a SameSite cookie scoped to the page) or
/// `Authorization: Bearer`. Off (404) when the server has no admin token.
struct DashboardController {
    let store: any MetadataStore
    let statistics: StatisticsCache
    let activity: ServerActivity
    let adminToken: String?
    let quota: Int?

    static let cookieName = "twin_admin"

    func register(to router: Router<TwinRequestContext>) {
        router.get("dashboard", use: dashboard)
        router.get("dashboard.css") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "no-store"],
                     body: .init(byteBuffer: ByteBuffer(string: DashboardPage.stylesheet)))
        }
    }

    @Sendable func dashboard(_ request: Request, context: TwinRequestContext) async throws -> Response {
        guard let adminToken else {
            throw APIError.notFound("the dashboard is off: start twin serve with --admin-token-file FILE")
        }
        if let offered = request.uri.queryParameters["token"] {
            guard Self.equal(String(offered), adminToken) else { throw APIError.unauthenticated }
            return Response(status: .seeOther, headers: [
                .location: "/dashboard", .cacheControl: "no-store",
                .setCookie: "\(Self.cookieName)=\(adminToken); Path=/dashboard; HttpOnly; SameSite=Strict",
            ])
        }
        guard let presented = Self.presentedToken(request) ?? Self.cookie(in: request), Self.equal(presented, adminToken) else {
            throw APIError(.unauthorized, .unauthenticated, "the dashboard needs the admin token: open /dashboard?token=TOKEN once")
        }
        let totals = try await statistics.statistics()
        let usage = try await store.userUsage()
        let html = DashboardPage.render(totals: totals, coarse: statistics.coarse, usage: usage, quota: quota, activity: activity)
        return Response(status: .ok, headers: [
            .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
            .contentSecurityPolicy: "default-src 'none'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'",
            .xContentTypeOptions: "nosniff",
        ], body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// The bearer token of the request, if it has one.
    static func presentedToken(_ request: Request) -> String? {
        request.headers[.authorization].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
    }

    static func cookie(in request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let parts = pair.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0] == cookieName { return String(parts[1]) }
            }
        }
        return nil
    }

    /// Constant-time comparison (HMAC equality under a fresh key).
    static func equal(_ a: String, _ b: String) -> Bool {
        let key = SymmetricKey(size: .bits256)
        return HMAC<SHA256>.isValidAuthenticationCode(HMAC<SHA256>.authenticationCode(for: Data(a.utf8), using: key),
                                                       authenticating: Data(b.utf8), using: key)
    }
}
