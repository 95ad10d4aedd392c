import BrowserAccess
import HTTPTypes
import Hummingbird
import Testing

@Suite("PageToken: a link's token exchanged for a cookie, checked in constant time")
struct PageTokenTests {
    static func request(_ path: String, headers: HTTPFields = [:]) -> Request {
        Request(head: HTTPRequest(method: .get, scheme: "http", authority: "127.0.0.1:8080", path: path, headerFields: headers),
                body: .init(buffer: ByteBuffer()))
    }

    let token = PageToken(secret: "s3cret-token", cookieName: "page_8080", cookiePath: "/")

    @Test("the link's token is exchanged once; a wrong one is told apart from none")
    func link() {
        #expect(token.presentation(of: Self.request("/?token=s3cret-token")) == .exchange)
        #expect(token.presentation(of: Self.request("/?token=s3cret-tokem")) == .wrongLink)
        #expect(token.presentation(of: Self.request("/?token=")) == .wrongLink)
        let response = token.exchange(redirectingTo: "/shared/bob")
        #expect(response.status == .seeOther)
        #expect(response.headers[.location] == "/shared/bob")
        #expect(response.headers[.setCookie] == "page_8080=s3cret-token; Path=/; HttpOnly; SameSite=Strict")
        #expect(response.headers[.cacheControl] == "no-store")
    }

    @Test("the cookie of this page's name carries the token; another page's cookie, a wrong value or none do not")
    func cookie() {
        #expect(token.presentation(of: Self.request("/", headers: [.cookie: "a=b; page_8080=s3cret-token"])) == .valid)
        #expect(token.presentation(of: Self.request("/", headers: [.cookie: "page_8081=s3cret-token"])) == .missing)
        #expect(token.presentation(of: Self.request("/", headers: [.cookie: "page_8080=s3cret"])) == .missing)
        #expect(token.presentation(of: Self.request("/")) == .missing)
    }

    @Test("a bearer header counts only where the page accepts one")
    func bearer() {
        let header: HTTPFields = [.authorization: "Bearer s3cret-token"]
        #expect(token.presentation(of: Self.request("/", headers: header)) == .missing)
        let scripted = PageToken(secret: "s3cret-token", cookieName: "admin", cookiePath: "/dashboard", acceptsBearer: true)
        #expect(scripted.presentation(of: Self.request("/dashboard", headers: header)) == .valid)
        #expect(scripted.isBearer(of: Self.request("/metrics", headers: header)))
        #expect(!scripted.isBearer(of: Self.request("/metrics", headers: [.authorization: "Bearer wrong"])))
        #expect(!scripted.isBearer(of: Self.request("/metrics", headers: [.cookie: "admin=s3cret-token"])))
    }

    @Test("equality is exact: prefixes, extensions and case differ")
    func equality() {
        #expect(PageToken.equal("abc", "abc"))
        for other in ["ab", "abcd", "ABC", "", "abd"] { #expect(!PageToken.equal("abc", other)) }
    }
}
