import Caching
import Convergent
import Foundation
import Hummingbird
import TwinClient
import TwinProtocol

/// The gallery's pages: decode the request, ask the session, render.
struct GalleryController: Sendable {
    let session: GallerySession
    let user: String
    let pageSize: Int
    /// Decrypted thumbnails, by owner, name and file tag (`v`): a gallery shown again decrypts
    /// nothing. A key's bytes count too, so even empty thumbnails ("no preview") stay bounded.
    let thumbnails = ByteBudgetCache<String, [UInt8]>(capacityBytes: 64 << 20)

    func register(to router: Router<BasicRequestContext>) {
        router.get("static/gallery.css") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/css; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: GalleryTemplates.stylesheet)))
        }
        router.get("/") { request, _ in try await grid(owner: nil, request: request) }
        router.get("shared/:owner") { request, context in
            try await grid(owner: try context.parameters.require("owner"), request: request)
        }
        router.get("thumb") { request, _ in try await thumbnail(request) }
        router.get("view") { request, _ in try await view(request) }
        router.get("image") { request, _ in try await image(request) }
        router.post("grant") { request, context in try await grant(request, context: context) }
        router.post("revoke") { request, context in try await revoke(request, context: context) }
    }

    // MARK: Pages

    /// A grid of `owner`'s entries (own when nil) under `?prefix=`, one page from `?after=`.
    func grid(owner: String?, request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        let prefix = query["prefix"].map(String.init) ?? ""
        let current = await session.session
        var entries: [EntryResponse] = []
        var next = query["after"].map(String.init)
        do {
            // Thumbnail entries (".thumbnails/…") sit together in name order: a page that ends
            // among them continues past them all ("0" follows "/"), at once if it showed nothing.
            repeat {
                let page = try await current.entryPage(owner: owner, prefix: prefix, after: next, limit: pageSize)
                entries = page.entries.filter { !Thumbnail.isThumbnail($0.name) }
                next = page.next
                if let last = page.entries.last, Thumbnail.isThumbnail(last.name) { next = TwinProtocol.thumbnailFolder + "0" }
            } while entries.isEmpty && next == TwinProtocol.thumbnailFolder + "0" && next != query["after"].map(String.init)
        } catch {
            return page("message", ["message": "\(error)"], status: .ok)
        }
        let ownerParameter = owner.map { "owner=\(Self.escape($0))&" } ?? ""
        var sections: [(folder: String, tiles: [[String: Any]])] = []
        for entry in entries {
            let folder = entry.name.lastIndex(of: "/").map { String(entry.name[..<$0]) } ?? ""
            let item = "\(ownerParameter)name=\(Self.escape(entry.name))"
            let tile: [String: Any] = ["name": entry.name, "view": "/view?\(item)", "thumb": "/thumb?\(item)&v=\(entry.fileTag.hex.prefix(16))"]
            if sections.last?.folder == folder { sections[sections.count - 1].tiles.append(tile) } else { sections.append((folder, [tile])) }
        }
        let owners = (try? await current.receivedGrants().map(\.owner)) ?? []
        let grants = owner == nil ? ((try? await current.issuedGrants()) ?? []).map { ["grantee": $0.grantee, "policy": $0.policy] } : []
        let base = owner.map { "/shared/\(Self.escape($0))" } ?? "/"
        var values: [String: Any] = [
            "heading": owner.map { "Shared by \($0)" } ?? "My photos", "own": owner == nil,
            "sections": sections.map { ["folder": $0.folder.isEmpty ? "Top level" : $0.folder, "tiles": $0.tiles] },
            "owners": Array(Set(owners)).sorted().map { ["name": $0, "current": $0 == owner] },
            "grants": grants,
        ]
        if let next { values["next"] = "\(base)?prefix=\(Self.escape(prefix))&after=\(Self.escape(next))" }
        if let message = request.uri.queryParameters["message"] { values["message"] = String(message) }
        return page("grid", values)
    }

    func view(_ request: Request) async throws -> Response {
        let (owner, name) = try Self.item(request)
        let current = await session.session
        let entry: EntryResponse
        do { entry = try await current.entry(owner: owner, name: name) } catch { return page("message", ["message": "\(error)"], status: .notFound) }
        let item = (owner.map { "owner=\(Self.escape($0))&" } ?? "") + "name=\(Self.escape(name))"
        return page("view", ["name": name, "owner": entry.owner, "size": entry.size, "attributes": entry.attributes.joined(separator: ", "),
                             "image": "/image?\(item)", "download": "/image?\(item)&download=1",
                             "back": owner.map { "/shared/\(Self.escape($0))" } ?? "/"])
    }

    /// The full image, decrypted here after every check; `download=1` asks the browser to save it.
    func image(_ request: Request) async throws -> Response {
        let (owner, name) = try Self.item(request)
        let current = await session.session
        let (entry, bytes): (EntryResponse, [UInt8])
        do { (entry, bytes) = try await current.read(owner: owner, name: name) } catch {
            return page("message", ["message": "\(error)"], status: .notFound)
        }
        var headers: HTTPFields = [.contentType: entry.mediaType.isEmpty ? "application/octet-stream" : entry.mediaType]
        if request.uri.queryParameters["download"] != nil {
            let base = String(name.split(separator: "/").last ?? "image").filter { $0 != "\"" && $0 != "\\" && !$0.isNewline }
            headers[.contentDisposition] = "attachment; filename=\"\(base)\""
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// The entry's thumbnail: its thumbnail entry, or, for an entry from before thumbnails, one
    /// made now from the image (and uploaded, when the entry is the user's own).
    func thumbnail(_ request: Request) async throws -> Response {
        let (owner, name) = try Self.item(request)
        let key = "\(owner ?? user)/\(name)@\(request.uri.queryParameters["v"] ?? "")"
        if let cached = thumbnails.value(for: key) { return Self.thumbnailResponse(cached) }
        let current = await session.session
        var made: [UInt8]
        do {
            made = try await current.read(owner: owner, name: Thumbnail.name(for: name)).bytes
        } catch {
            do {
                let (entry, image) = try await current.read(owner: owner, name: name)
                made = owner == nil ? try await current.addThumbnail(of: entry, image: image) : ((try? Thumbnail.make(from: image)) ?? [])
            } catch {
                made = []
            }
        }
        thumbnails.insertIfAbsent(made, bytes: made.count + key.utf8.count, under: key)
        return Self.thumbnailResponse(made)
    }

    static func thumbnailResponse(_ thumbnail: [UInt8]) -> Response {
        guard !thumbnail.isEmpty else {
            let placeholder = ##"<svg xmlns="http://www.w3.org/2000/svg" width="200" height="200"><rect width="200" height="200" fill="#ccc"/><text x="100" y="105" font-family="sans-serif" font-size="16" text-anchor="middle" fill="#555">no preview</text></svg>"##
            return Response(status: .ok, headers: [.contentType: "image/svg+xml"], body: .init(byteBuffer: ByteBuffer(string: placeholder)))
        }
        return Response(status: .ok, headers: [.contentType: "image/jpeg"], body: .init(byteBuffer: ByteBuffer(bytes: thumbnail)))
    }

    // MARK: Sharing

    func grant(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let form = try await Self.form(request, context: context)
        guard let grantee = form["user"], let policy = form["policy"], !grantee.isEmpty, !policy.isEmpty else {
            return Self.back("Name a user and a policy to grant.")
        }
        do {
            try await session.session.grant(grantee, policy: policy)
            return Self.back("Granted \(grantee) a key for '\(policy)'.")
        } catch {
            return Self.back("Not granted: \(error)")
        }
    }

    func revoke(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let form = try await Self.form(request, context: context)
        guard let grantee = form["user"], !grantee.isEmpty else { return Self.back("Name a user to revoke.") }
        do {
            let report = try await session.revoke(grantee)
            return Self.back("Revoked \(grantee): \(report.rewrapped) entries re-wrapped, keys re-issued to "
                             + (report.regranted.isEmpty ? "nobody" : report.regranted.joined(separator: ", ")) + ".")
        } catch {
            return Self.back("Not revoked: \(error)")
        }
    }

    // MARK: Helpers

    /// The entry a request names: `name`, and `owner` when it is not the user's own.
    static func item(_ request: Request) throws -> (owner: String?, name: String) {
        let query = request.uri.queryParameters
        guard let name = query["name"].map(String.init), TwinProtocol.isValidName(name) else { throw HTTPError(.badRequest) }
        let owner = query["owner"].map(String.init)
        if let owner, !TwinProtocol.isValidUserName(owner) { throw HTTPError(.badRequest) }
        return (owner, name)
    }

    /// An `application/x-www-form-urlencoded` body of at most 16 KiB.
    static func form(_ request: Request, context: BasicRequestContext) async throws -> [String: String] {
        let body = try await request.body.collect(upTo: 16 << 10)
        var fields: [String: String] = [:]
        for pair in String(buffer: body).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { $0.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            if parts.count == 2 { fields[parts[0]] = parts[1] }
        }
        return fields
    }

    static func back(_ message: String) -> Response {
        Response(status: .seeOther, headers: [.location: "/?message=\(escape(message))"])
    }

    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? ""
    }

    func page(_ template: String, _ values: [String: Any], status: HTTPResponse.Status = .ok) -> Response {
        var values = values
        values["user"] = user
        values["title"] = "TwinStore gallery · \(user)"
        let html = GalleryTemplates.render(template, values) ?? ""
        return Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: html)))
    }
}
