import Convergent
import Foundation
import Hummingbird
import NIOCore
import TwinProtocol
import TwinStorage

/// The upload API (`/v1/uploads`): decodes each request, calls `UploadService`, encodes its answer.
/// HTTP's own concerns live here: body bounds, the chunk-bundle wire format, and how many bundles
/// are held at once.
struct UploadController {
    let uploads: UploadService
    let metrics: TwinMetrics
    let limits: ServerLimits
    let bundles: InFlightLimit

    init(uploads: UploadService, metrics: TwinMetrics, limits: ServerLimits) {
        self.uploads = uploads
        self.metrics = metrics
        self.limits = limits
        bundles = InFlightLimit(limits.bundlesInFlight)
    }

    /// The largest `ChunkBundle` body accepted: the whole body is held (and its chunks copied) while
    /// they are checked, before any is stored.
    static let maximumBundle = 32 << 20
    /// The most records one bundle may carry: each is a blob written.
    static let maximumBundleRecords = 1024
    /// The largest proof body: its most openings, each a 4 KiB piece with a path up to the root of
    /// the largest chunk (4097 leaves: 13 nodes) and its 13 bytes of framing, with room to spare.
    static let maximumProof = OwnershipProof.maximumOpenings * (13 + MerkleTree.leafSize + 16 * 32) + 64

    func register(to router: some RouterMethods<TwinRequestContext>) {
        router.post("uploads", use: begin)
        router.put("uploads/:id/chunks/:tag", use: putChunk)
        router.post("uploads/:id/chunks", use: postChunks)
        router.post("uploads/:id/proof", use: proof)
        router.post("uploads/:id/commit", use: commit)
    }

    @Sendable func begin(_ request: Request, context: TwinRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let body = try await request.decode(as: BeginUploadRequest.self, limit: limits.beginBody, context: context)
        let announcement = try await uploads.announce(
            body.files.map { AnnouncedFile(fileTag: $0.fileTag, chunks: $0.chunks) }, by: user)
        let response = BeginUploadResponse(
            id: announcement.id, missing: announcement.missing, fileExists: announcement.fileExists,
            challenge: announcement.challenge.map { challenge in
                ChallengeDescriptor(id: challenge.id, leaves: challenge.leaves.map { .init(chunk: $0.chunk, leaf: $0.leaf) },
                                    expiresAt: challenge.expiresAt)
            },
            expiresAt: announcement.expiresAt)
        return try jsonResponse(.created, response, context: context)
    }

    @Sendable func putChunk(_ request: Request, context: TwinRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let id = try context.parameters.decoded("id")
        guard let tag = Tag(hex: try context.parameters.decoded("tag")) else { throw APIError.badRequest("malformed tag") }
        let body = try await request.body.collect(upTo: UploadService.maximumChunkCiphertext)
        metrics.bytesReceived.increment(by: Int64(body.readableBytes))
        try await uploads.receive([(tag, Array(buffer: body))], session: id, user: user)
        return Response(status: .noContent)
    }

    /// Several missing chunks in one request (`ChunkBundle`).
    @Sendable func postChunks(_ request: Request, context: TwinRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let id = try context.parameters.decoded("id")
        // Bundles are held whole while checked: a bounded number at once, server-wide.
        guard let slot = bundles.enter() else {
            throw APIError(.serviceUnavailable, .busy, "the server is receiving as many chunk bundles as it holds; retry", retryAfter: 1)
        }
        defer { slot.leave() }
        let body = try await request.body.collect(upTo: Self.maximumBundle)
        metrics.bytesReceived.increment(by: Int64(body.readableBytes))
        let chunks: [(tag: Tag, bytes: [UInt8])] = try body.withUnsafeReadableBytes { raw in
            let records: [(tag: Tag, range: Range<Int>)]
            do { records = try ChunkBundle.records(in: raw) } catch { throw APIError.unprocessable("malformed chunk bundle: \(error)") }
            guard (1...Self.maximumBundleRecords).contains(records.count) else {
                throw APIError.unprocessable("a chunk bundle carries 1 to \(Self.maximumBundleRecords) chunks, not \(records.count)")
            }
            return records.map { ($0.tag, Array(raw[$0.range])) }
        }
        try await uploads.receive(chunks, session: id, user: user)
        return Response(status: .noContent)
    }

    @Sendable func proof(_ request: Request, context: TwinRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let id = try context.parameters.decoded("id")
        let body = try await request.body.collect(upTo: Self.maximumProof)
        guard let proof = try? OwnershipProof(decoding: Array(buffer: body)) else {
            throw APIError.unprocessable("malformed proof encoding")
        }
        try await uploads.prove(proof, session: id, user: user)
        return Response(status: .noContent)
    }

    @Sendable func commit(_ request: Request, context: TwinRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let id = try context.parameters.decoded("id")
        let body = try await request.decode(as: CommitRequest.self, limit: limits.commitBody, context: context)
        let entries = try await uploads.commit(body.entries, session: id, user: user)
        return try jsonResponse(.created, EntryListResponse(entries: entries.map { EntryResponse($0, caller: user, file: nil) }),
                                context: context)
    }
}

extension EntryResponse {
    /// What `caller` may see of `entry`: the owner's wrapped key only for the owner; manifest and chunk
    /// list only when `file` is given (single-entry reads).
    init(_ entry: EntryRecord, caller: String, file: FileRecord?) {
        self.init(owner: entry.owner, name: entry.name, fileTag: entry.fileTag, attributes: entry.attributes,
                  attributeWrappedKey: Data(entry.attributeWrappedKey),
                  ownerWrappedKey: caller == entry.owner ? Data(entry.ownerWrappedKey) : nil,
                  sealedManifest: file.map { Data($0.sealedManifest) }, chunks: file?.chunks,
                  mediaType: entry.mediaType, size: entry.size, createdAt: entry.createdAt, ownerSeal: Data(entry.ownerSeal))
    }
}
