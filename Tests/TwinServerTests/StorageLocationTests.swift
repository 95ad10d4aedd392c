import Foundation
import Logging
import Testing
@testable import TwinServer
import TwinStorage
import TwinStoragePostgres
import TwinStorageS3

/// `Storage.open`: the URLs `twin serve --metadata/--blobs` take, and clear refusals of the rest.
@Suite("Storage locations")
struct StorageLocationTests {
    static let logger = Logger(label: "test")

    @Test("sqlite:, file: and memory: open the embedded and in-memory stores")
    func embedded() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("twin-locations-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let storage = try await Storage.open(metadata: "sqlite:" + directory.appendingPathComponent("db/m.sqlite").path,
                                             blobs: "file:" + directory.appendingPathComponent("blobs").path, logger: Self.logger)
        #expect(storage.metadata is SQLiteMetadataStore)
        #expect(storage.blobs.backend is FileSystemBlobBackend)
        #expect(storage.services.isEmpty)
        try await storage.prepare()
        try await storage.close()
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("db/m.sqlite").path))
        let memory = try await Storage.open(metadata: "memory:", blobs: "memory:", logger: Self.logger)
        #expect(memory.metadata is MemoryMetadataStore)
        #expect(memory.blobs.backend is MemoryBlobBackend)
    }

    @Test("postgres:// and s3: make a pooled store (a service) and an S3 backend, without connecting yet")
    func networked() async throws {
        let storage = try await Storage.open(metadata: "postgres://twin@127.0.0.1:1/twin?schema=nodes", blobs: "s3:http://127.0.0.1:1/photos",
                                             environment: ["AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"], logger: Self.logger)
        #expect((storage.metadata as? PostgresMetadataStore)?.schema == "nodes")
        #expect(storage.services.count == 1)
        #expect((storage.blobs.backend as? S3BlobBackend)?.bucket == "photos")
    }

    @Test("unknown schemes and malformed URLs are refused with what each option takes",
          arguments: [("mysql://u@h/d", "file:/tmp/x"), ("sqlite:/tmp/x.sqlite", "ftp://h/b"), ("postgres://h/d", "memory:"),
                      ("memory:", "s3:http://h/b/extra"), ("", "memory:")])
    func refused(_ urls: (String, String)) async throws {
        await #expect(throws: (any Error).self) {
            _ = try await Storage.open(metadata: urls.0, blobs: urls.1,
                                       environment: ["AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"], logger: Self.logger)
        }
    }

    @Test("an S3 location without credentials names the variables to set")
    func credentials() async throws {
        do {
            _ = try await Storage.open(metadata: "memory:", blobs: "s3:http://127.0.0.1:1/b", environment: [:], logger: Self.logger)
            Issue.record("missing credentials must be refused")
        } catch {
            #expect("\(error)".contains("AWS_ACCESS_KEY_ID"))
        }
    }
}
