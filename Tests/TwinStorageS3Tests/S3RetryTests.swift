import Foundation
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing
import TwinStorage
import TwinStorageConformance
@testable import TwinStorageS3

/// Retries against a scripted S3 endpoint: transient refusals (5xx, `503 SlowDown`) are retried
/// with backoff until one succeeds; refusals that retrying cannot fix (403) are not.
@Suite("S3 retries")
struct S3RetryTests {
    /// Answers each request with the next status of `script` (then 200), counting requests.
    static func withEndpoint(_ script: [(status: HTTPResponse.Status, code: String)],
                             _ test: @Sendable (S3BlobBackend, RequestCount) async throws -> Void) async throws {
        let requests = RequestCount()
        let router = Router()
        router.put(":bucket/chunks/:key") { _, _ -> Response in
            let index = requests.next()
            guard index < script.count else { return Response(status: .ok) }
            let xml = "<Error><Code>\(script[index].code)</Code><Message>scripted</Message></Error>"
            return Response(status: script[index].status, body: .init(byteBuffer: ByteBuffer(string: xml)))
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            var backend = try S3BlobBackend(location: "s3:http://127.0.0.1:\(client.port!)/bucket",
                                            environment: ["AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"])
            backend.attemptTimeout = .seconds(5)
            try await test(backend, requests)
        }
    }

    @Test("503 SlowDown, 500 and 502 are retried until the PUT succeeds")
    func transientRefusals() async throws {
        try await Self.withEndpoint([(.serviceUnavailable, "SlowDown"), (.internalServerError, "InternalError"),
                                     (.badGateway, "")]) { backend, requests in
            let blob = BlobBackendConformance.blob(size: 100)
            try await backend.put(blob.tag, blob.bytes)
            #expect(requests.value == 4)
        }
    }

    @Test("a refusal that persists is reported after the last attempt")
    func persistentRefusal() async throws {
        try await Self.withEndpoint(Array(repeating: (.serviceUnavailable, "SlowDown"), count: 20)) { backend, requests in
            let blob = BlobBackendConformance.blob(size: 100)
            await #expect(throws: S3Error.unexpectedStatus(status: 503, code: "SlowDown", message: "scripted")) {
                try await backend.put(blob.tag, blob.bytes)
            }
            #expect(requests.value == S3BlobBackend.attempts)
        }
    }

    @Test("403 is not retried, and says what to check")
    func forbidden() async throws {
        try await Self.withEndpoint([(.forbidden, "SignatureDoesNotMatch")]) { backend, requests in
            let blob = BlobBackendConformance.blob(size: 100)
            do {
                try await backend.put(blob.tag, blob.bytes)
                Issue.record("a 403 must throw")
            } catch let error as S3Error {
                #expect(error == .accessDenied(code: "SignatureDoesNotMatch", message: "scripted"))
                #expect("\(error)".contains("AWS_SECRET_ACCESS_KEY"))
            }
            #expect(requests.value == 1)
        }
    }
}

final class RequestCount: Sendable {
    private let count = Mutex(0)

    /// The number of requests before this one.
    func next() -> Int {
        count.withLock { count in
            defer { count += 1 }
            return count
        }
    }

    var value: Int { count.withLock { $0 } }
}
