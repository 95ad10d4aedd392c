import BrowserAccess
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

    /// The admin token as the dashboard's page token: its cookie goes to /dashboard only.
    static func pageToken(_ adminToken: String) -> PageToken {
        PageToken(secret: adminToken, cookieName: "twin_admin", cookiePath: "/dashboard", acceptsBearer: true)
    }

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
        let token = Self.pageToken(adminToken)
        switch token.presentation(of: request) {
        case .exchange: return token.exchange(redirectingTo: "/dashboard")
        case .wrongLink: throw APIError.unauthenticated
        case .missing: throw APIError(.unauthorized, .unauthenticated, "the dashboard needs the admin token: open /dashboard?token=TOKEN once")
        case .valid: break
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
}
