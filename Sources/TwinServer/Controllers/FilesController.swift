import Convergent
import Foundation
import Hummingbird
import KPABE
import NIOCore
import TwinProtocol
import TwinStorage

/// Reads and deletes. A reader is the owner, or holds a grant from the owner whose policy the entry's
/// attributes satisfy. The server checks the policy in plaintext as defence in depth; the KP-ABE
/// capsule that wraps the file key enforces it regardless. A refusal never reveals whether the entry exists.
struct FilesController {
    let store: any MetadataStore
    let blobs: BlobStore
    let metrics: TwinMetrics
    let entryKeys: EntryKeysService
    let limits: ServerLimits

    func register(to router: some RouterMethods<TwinRequestContext>) {
        router.get("files", use: listOwn)
        router.get("shared", use: listShared)
        router.get("files/:owner", use: listOwner)
        router.get("files/:owner/:name", use: entry)
        router.get("files/:owner/:name/chunks/:tag", use: chunk)
        router.delete("files/:owner/:name", use: delete)
        router.patch("files/:owner", use: rekey)
    }

    @Sendable func listOwn(_ request: Request, context: TwinRequestContext) async throws -> EntryListResponse {
        let user = try context.requireUser()
        return try await page(of: user, caller: user, policy: nil, PageRequest(request))
    }

    @Sendable func listOwner(_ request: Request, context: TwinRequestContext) async throws -> EntryListResponse {
        let user = try context.requireUser()
        let owner = try context.parameters.decoded("owner")
        let page = try PageRequest(request)
        return try await self.page(of: owner, caller: user, policy: try await policy(owner: owner, caller: user), page)
    }

    /// One page of `owner`'s entries the caller may read: the store's page, filtered.
    private func page(of owner: String, caller: String, policy: Policy?, _ page: PageRequest) async throws -> EntryListResponse {
        let scanned = try await store.entries(owner: owner, prefix: page.prefix, after: page.after, limit: page.limit)
        return EntryListResponse(
            entries: scanned.filter { policy?.isSatisfied(by: Set($0.attributes)) ?? true }.map { EntryResponse($0, caller: caller, file: nil) },
            next: scanned.count == page.limit ? scanned.last?.name : nil)
    }

    /// One page of the entries of every owner who granted the caller a key whose policy the entry
    /// satisfies, by owner, then name; the cursor is `owner/name` (user names hold no '/').
    @Sendable func listShared(_ request: Request, context: TwinRequestContext) async throws -> EntryListResponse {
        let user = try context.requireUser()
        let page = try PageRequest(request)
        let cursor = page.after.map { after in after.firstIndex(of: "/").map { (String(after[..<$0]), String(after[after.index(after: $0)...])) } ?? (after, "") }
        var entries: [EntryResponse] = []
        var remaining = page.limit
        for grant in try await store.grants(grantee: user) {
            if let cursor, grant.owner.utf8.lexicographicallyPrecedes(cursor.0.utf8) { continue }
            // The grant is already in hand: no second lookup per owner.
            guard let policy = try? PolicyParser.parse(grant.policy) else { throw APIError.accessDenied }
            let after = cursor.flatMap { $0.0 == grant.owner ? $0.1 : nil }
            let scanned = try await store.entries(owner: grant.owner, prefix: page.prefix, after: after, limit: remaining)
            entries += scanned.filter { policy.isSatisfied(by: Set($0.attributes)) }.map { EntryResponse($0, caller: user, file: nil) }
            remaining -= scanned.count
            if remaining == 0, let last = scanned.last { return EntryListResponse(entries: entries, next: "\(grant.owner)/\(last.name)") }
        }
        return EntryListResponse(entries: entries)
    }

    @Sendable func entry(_ request: Request, context: TwinRequestContext) async throws -> EntryResponse {
        let user = try context.requireUser()
        let (entry, file) = try await readable(owner: try context.parameters.decoded("owner"),
                                               name: try context.parameters.decoded("name"), caller: user)
        return EntryResponse(entry, caller: user, file: file)
    }

    @Sendable func chunk(_ request: Request, context: TwinRequestContext) async throws -> Response {
        let user = try context.requireUser()
        guard let tag = Tag(hex: try context.parameters.decoded("tag")) else { throw APIError.badRequest("malformed tag") }
        let (_, file) = try await readable(owner: try context.parameters.decoded("owner"),
                                           name: try context.parameters.decoded("name"), caller: user)
        guard file.chunks.contains(where: { $0.tag == tag }) else { throw APIError.accessDenied }
        let bytes = try await verifiedBlob(tag)
        metrics.bytesSent.increment(by: Int64(bytes.count))
        return Response(status: .ok, headers: [.contentType: "application/octet-stream"],
                        body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// The blob under `tag`. One found missing or corrupt is marked lost (a corrupt one moved aside
    /// first), so the next upload of that content stores it again, and the reader gets a clear error.
    private func verifiedBlob(_ tag: Tag) async throws -> [UInt8] {
        do {
            if let bytes = try await blobs.get(tag) { return bytes }
        } catch BlobStoreError.corrupt(let corrupt) {
            try await blobs.quarantine(corrupt)
            try await store.markLost([corrupt])
            throw BlobStoreError.corrupt(corrupt)
        }
        try await store.markLost([tag])
        throw APIError(.internalServerError, .corruptBlob, "chunk \(tag) is missing from storage; an upload of it will restore it")
    }

    @Sendable func delete(_ request: Request, context: TwinRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let name = try context.parameters.decoded("name")
        guard try context.parameters.decoded("owner") == user else { throw APIError.accessDenied }
        guard try await store.deleteEntry(owner: user, name: name, now: Date()) else {
            throw APIError.notFound("no entry \(name)")
        }
        return Response(status: .noContent)
    }

    /// New attribute-wrapped keys for the caller's own entries (`EntryKeysService`).
    @Sendable func rekey(_ request: Request, context: TwinRequestContext) async throws -> Response {
        let user = try context.requireUser()
        guard try context.parameters.decoded("owner") == user else { throw APIError.accessDenied }
        let body = try await request.decode(as: EntryKeysRequest.self, limit: limits.commitBody, context: context)
        try await entryKeys.rekey(body.entries, owner: user)
        return Response(status: .noContent)
    }

    // MARK: Access control

    private func readable(owner: String, name: String, caller: String) async throws -> (EntryRecord, FileRecord) {
        let policy = try await policy(owner: owner, caller: caller)
        guard let entry = try await store.entry(owner: owner, name: name) else {
            throw caller == owner ? APIError.notFound("no entry \(name)") : APIError.accessDenied
        }
        guard policy?.isSatisfied(by: Set(entry.attributes)) ?? true else { throw APIError.accessDenied }
        guard let file = try await store.file(entry.fileTag) else { throw APIError.notFound("file of \(name) is missing") }
        return (entry, file)
    }

    /// `policy` nil: the caller is the owner and reads everything.
    private func readableEntries(of owner: String, caller: String, policy: Policy?) async throws -> [EntryResponse] {
        try await store.entries(owner: owner)
            .filter { policy?.isSatisfied(by: Set($0.attributes)) ?? true }
            .map { EntryResponse($0, caller: caller, file: nil) }
    }

    /// nil: the caller is the owner and reads everything; otherwise the granted policy.
    private func policy(owner: String, caller: String) async throws -> Policy? {
        if owner == caller { return nil }
        guard let grant = try await store.grant(owner: owner, grantee: caller),
              let policy = try? PolicyParser.parse(grant.policy) else { throw APIError.accessDenied }
        return policy
    }
}

/// A listing's query: `prefix` (names starting with it), `after` (the previous page's `next`) and
/// `limit` (1 to `EntryListResponse.maximumPage`, the default). Hummingbird hands query values
/// over percent-decoded.
struct PageRequest {
    var prefix = ""
    var after: String?
    var limit = EntryListResponse.maximumPage

    init(_ request: Request) throws {
        let query = request.uri.queryParameters
        if let prefix = query["prefix"] {
            guard prefix.unicodeScalars.count <= TwinProtocol.maximumNameLength else { throw APIError.badRequest("prefix is longer than a name") }
            self.prefix = String(prefix)
        }
        if let after = query["after"] {
            guard after.unicodeScalars.count <= TwinProtocol.maximumNameLength else { throw APIError.badRequest("after is longer than a name") }
            self.after = String(after)
        }
        if let limit = query["limit"] {
            guard let value = Int(limit), (1...EntryListResponse.maximumPage).contains(value) else {
                throw APIError.badRequest("limit is 1 to \(EntryListResponse.maximumPage)")
            }
            self.limit = value
        }
    }
}
