import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing
@testable import TwinClient
import TwinProtocol

/// The operator's dashboard: behind the admin token, totals and per-user usage with charts, and
/// nothing per file.
@Suite("Operator's dashboard")
struct DashboardTests {
    static let token = String(repeating: "a1", count: 32)

    func fetch(_ url: String, headers: [(String, String)] = []) async throws -> (status: Int, headers: HTTPHeaders, body: String) {
        let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: .init(redirectConfiguration: .disallow))
        do {
            var request = HTTPClientRequest(url: url)
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            let response = try await client.execute(request, timeout: .seconds(30))
            let body = try await response.body.collect(upTo: 1 << 20)
            try await client.shutdown()
            return (Int(response.status.code), response.headers, String(buffer: body))
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    @Test("refused without the admin token; with it: totals, dedup ratio, users against quota, charts, no file names or tags")
    func dashboard() async throws {
        try await LiveServer.run(configure: { $0.adminToken = Self.token }) { server in
            let alice = try await server.user("alice")
            _ = try await server.user("bob")
            let image = jpegImage(seed: "dash", exif: "d")
            _ = try await alice.upload(path: try server.file("secret-name.jpg", image), name: "secret-name.jpg", attributes: [])
            let tag = try await alice.entries()[0].fileTag.hex

            let bare = try await fetch("\(server.url)/dashboard")
            #expect(bare.status == 401 && bare.body.contains("\"unauthenticated\""))
            let wrong = try await fetch("\(server.url)/dashboard", headers: [("Authorization", "Bearer " + String(repeating: "b2", count: 32))])
            #expect(wrong.status == 401)
            let userToken = try #require(alice.api.token)
            #expect(try await fetch("\(server.url)/dashboard", headers: [("Authorization", "Bearer \(userToken)")]).status == 401,
                    "a user's bearer token is not the admin's")

            let exchange = try await fetch("\(server.url)/dashboard?token=\(Self.token)")
            #expect(exchange.status == 303)
            let cookie = try #require(exchange.headers.first(name: "Set-Cookie"))
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"))

            let page = try await fetch("\(server.url)/dashboard", headers: [("Cookie", String(cookie.split(separator: ";")[0]))])
            #expect(page.status == 200)
            #expect(page.headers.first(name: "Cache-Control") == "no-store")
            #expect(page.headers.first(name: "Content-Security-Policy")?.contains("default-src 'none'") == true)
            for expected in ["Dedup ratio", "<td>alice</td>", "<td>bob</td>", "<svg", "of quota"] {
                #expect(page.body.contains(expected), "\(expected)")
            }
            #expect(!page.body.contains("secret-name") && !page.body.contains(tag.prefix(16)), "nothing per file")
            #expect(!page.body.contains("<script"))

            // With an admin token, /metrics is the operator's too.
            #expect(try await fetch("\(server.url)/metrics").status == 401)
            #expect(try await fetch("\(server.url)/metrics", headers: [("Authorization", "Bearer \(Self.token)")]).status == 200)
        }
    }

    @Test("without an admin token the dashboard is off: 404 with a JSON body naming the option")
    func off() async throws {
        try await LiveServer.run { server in
            let response = try await fetch("\(server.url)/dashboard")
            #expect(response.status == 404 && response.body.contains("--admin-token-file"))
            #expect(try await fetch("\(server.url)/metrics").status == 200, "without an admin token, /metrics stays open")
        }
    }
}
