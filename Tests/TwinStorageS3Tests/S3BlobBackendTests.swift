import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
import TwinStorage
import TwinStorageConformance
@testable import TwinStorageS3

/// The S3 backend against a real endpoint: `S3_ENDPOINT` with `AWS_ACCESS_KEY_ID` and
/// `AWS_SECRET_ACCESS_KEY` (tools/services.sh starts Ceph RGW and prints them). A missing
/// endpoint is a failure, not a skip.
@Suite("S3BlobBackend")
struct S3BlobBackendTests {
    static var endpoint: String {
        get throws { try RequiredService.environment("S3_ENDPOINT", hint: "tools/services.sh starts Ceph RGW and prints it and AWS_*") }
    }

    /// A backend on a new bucket of its own.
    static func freshBackend() async throws -> S3BlobBackend {
        let bucket = "twin-test-" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(12)
        let backend = try S3BlobBackend(location: "s3:\(try endpoint)/\(bucket)")
        try await backend.createBucket()
        return backend
    }

    static func empty(_ backend: S3BlobBackend) async throws {
        for try await tag in backend.list() { try await backend.delete(tag) }
        try await backend.deleteBucket()
    }

    @Test("conformance", arguments: BlobBackendConformance.allCases)
    func conformance(_ behaviour: BlobBackendConformance) async throws {
        try await behaviour.run({ try await Self.freshBackend() }, dispose: Self.empty)
    }

    @Test("a missing bucket and wrong keys are clear errors")
    func refusals() async throws {
        let missing = try S3BlobBackend(location: "s3:\(try Self.endpoint)/twin-no-such-bucket-\(UInt32.random(in: 0...UInt32.max))")
        await #expect(throws: S3Error.noSuchBucket(missing.bucket)) { try await missing.checkBucket() }
        let real = try await Self.freshBackend()
        var environment = ProcessInfo.processInfo.environment
        environment["AWS_SECRET_ACCESS_KEY"] = "wrong" + (environment["AWS_SECRET_ACCESS_KEY"] ?? "")
        let impostor = try S3BlobBackend(location: "s3:\(try Self.endpoint)/\(real.bucket)", environment: environment)
        do {
            try await impostor.put(BlobBackendConformance.blob(size: 10).tag, [1])
            Issue.record("a wrong secret must be refused")
        } catch let error as S3Error {
            guard case .accessDenied = error else { Issue.record("expected accessDenied, got \(error)"); return }
            #expect("\(error)".contains("AWS_SECRET_ACCESS_KEY"))
        }
        try await Self.empty(real)
    }

    @Test("an endpoint that refuses connections is reported after retries")
    func unreachable() async throws {
        var backend = try S3BlobBackend(location: "s3:http://127.0.0.1:\(try Self.closedPort())/bucket",
                                        environment: ["AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"])
        backend.attemptTimeout = .milliseconds(300)
        await #expect(throws: S3Error.self) { try await backend.get(BlobBackendConformance.blob(size: 1).tag) }
    }

    /// A loopback port nothing listens on: bound, then released.
    static func closedPort() throws -> Int {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    @Test("locations: s3:http://HOST:PORT/BUCKET with credentials from the environment")
    func locations() throws {
        let credentials = ["AWS_ACCESS_KEY_ID": "AK", "AWS_SECRET_ACCESS_KEY": "SK", "AWS_DEFAULT_REGION": "eu-west-1"]
        let backend = try S3BlobBackend(location: "s3:http://127.0.0.1:17480/photos", environment: credentials)
        #expect(backend.bucket == "photos")
        #expect(backend.endpoint.absoluteString == "http://127.0.0.1:17480")
        #expect(backend.signer.region == "eu-west-1")
        for bad in ["s3:ftp://h/b", "s3:http://h", "s3:http://h/a/b", "s3:/b"] {
            #expect(throws: S3Error.self, "\(bad)") { try S3BlobBackend(location: bad, environment: credentials) }
        }
        #expect(throws: S3Error.self) { try S3BlobBackend(location: "s3:http://h:1/b", environment: [:]) }
    }

    @Test("ListObjectsV2 pages are read with escapes undone")
    func listPage() {
        let page = ListPage(xml: """
            <ListBucketResult><IsTruncated>true</IsTruncated><Contents><Key>chunks/a&amp;b</Key></Contents>
            <Contents><Key>chunks/c</Key></Contents><NextContinuationToken>x&lt;y</NextContinuationToken></ListBucketResult>
            """)
        #expect(page.keys == ["chunks/a&b", "chunks/c"])
        #expect(page.isTruncated)
        #expect(page.nextToken == "x<y")
    }
}
