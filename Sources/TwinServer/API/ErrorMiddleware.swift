import Convergent
import Foundation
import Hummingbird
import TwinStorageS3
import NIOCore
import TwinProtocol
import TwinStorage

/// Turns every failure into a JSON error body: API errors as they are, Hummingbird's own HTTP errors
/// (unknown route, body too large) and bodies past a handler's limit with a matching code, and anything unexpected as a logged 500
/// that reveals nothing.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The routes, to tell an unknown path (404) from a method its path does not serve (405).
    var routes = RouteTable()

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as HTTPError {
            if error.status == .notFound, case let allowed = routes.methods(at: request.uri.path), !allowed.isEmpty {
                throw APIError(.methodNotAllowed, .methodNotAllowed, "\(request.method) is not served here; use \(allowed.joined(separator: ", "))",
                               headers: [.allow: allowed.joined(separator: ", ")])
            }
            let code: ErrorCode = switch error.status {
            case .notFound: .notFound
            case .contentTooLarge: .payloadTooLarge
            case .unauthorized: .unauthenticated
            case .forbidden: .accessDenied
            case .badRequest: .badRequest
            default: error.status.code >= 500 ? .internalError : .badRequest
            }
            throw APIError(error.status, code, error.body ?? error.status.reasonPhrase)
        } catch is NIOTooManyBytesError {
            // A body collected with a limit (chunks, bundles, proofs) that ran past it.
            throw APIError(.contentTooLarge, .payloadTooLarge, "the request body is larger than this endpoint accepts")
        } catch let error as ParallelListMismatch {
            throw APIError.unprocessable("\(error)")
        } catch let error as DecodingError {
            throw APIError.badRequest("malformed JSON body: \(Self.describe(error))")
        } catch let error as UploadError {
            throw Self.apiError(error)
        } catch let error as MetadataStoreError {
            switch error {
            case .conflict(let what): throw APIError(.conflict, .conflict, "\(what) already exists")
            case .notFound(let what): throw APIError.notFound("\(what) not found")
            case .tooManyUploadSessions(let user, let live):
                throw APIError.limitReached("\(user) has \(live) open upload sessions, the most allowed")
            case .collecting(let tag):
                throw APIError(.serviceUnavailable, .busy, "chunk \(tag.hex) is being collected; retry", retryAfter: 1)
            case .quotaExceeded(let used, let quota):
                throw APIError(.contentTooLarge, .quotaExceeded, "this would charge \(used) bytes to a quota of \(quota)")
            }
        } catch let error as S3Error {
            context.logger.error("blob backend failure", metadata: ["error": "\(error)"])
            throw APIError(.serviceUnavailable, .busy, "the blob store is unavailable; retry", retryAfter: 5)
        } catch let error as BlobStoreError {
            context.logger.error("blob store integrity failure", metadata: ["error": "\(error)"])
            throw APIError(.internalServerError, .corruptBlob, "stored data failed its integrity check")
        } catch {
            context.logger.error("unhandled error", metadata: ["error": "\(error)"])
            throw APIError(.internalServerError, .internalError, "internal error")
        }
    }

    static func apiError(_ error: UploadError) -> APIError {
        switch error {
        case .invalid(let message): .badRequest(message)
        case .unprocessable(let message): .unprocessable(message)
        case .tagMismatch(let message): APIError(.unprocessableContent, .tagMismatch, message)
        case .rateLimited(let what, let wait): .rateLimited(what, retryAfter: wait)
        case .noSession(let id): .notFound("no upload \(id)")
        case .expired(let id): APIError(.gone, .sessionExpired, "upload \(id) expired")
        case .unexpectedChunk(let tag): APIError(.conflict, .unexpectedChunk, "chunk \(tag) was not requested by this upload, or came twice")
        case .noChallenge: APIError(.conflict, .proofInvalid, "no outstanding challenge for this upload")
        case .challengeExpired: APIError(.forbidden, .sessionExpired, "the challenge expired")
        case .proofRejected(let reason): APIError(.forbidden, .proofInvalid, "proof of ownership rejected: \(reason)")
        case .proofRequired: APIError(.forbidden, .proofRequired, "prove ownership of the chunks the server already holds first")
        case .incomplete(let outstanding): APIError(.conflict, .incompleteUpload, "\(outstanding) chunks not uploaded yet")
        case .changed(let message): APIError(.conflict, .conflict, message)
        case .busy(let what): APIError(.serviceUnavailable, .busy, "\(what); retry", retryAfter: 1)
        }
    }

    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, _): "missing field '\(key.stringValue)'"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            "\(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)"
        @unknown default: "\(error)"
        }
    }
}
