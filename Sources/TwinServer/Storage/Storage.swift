import Foundation
import Logging
import ServiceLifecycle
import TwinStorage
import TwinStoragePostgres
import TwinStorageS3

/// The stores a server runs on, chosen by URL:
///
/// - metadata: `sqlite:PATH`, `postgres://USER@HOST:PORT/DB` (`postgresql://` too), or `memory:`;
/// - blobs: `file:PATH`, `s3:http://HOST:PORT/BUCKET`, or `memory:`.
///
/// Opening one returns the stores, the services that must run beside the server (a database's
/// connection pool), what to do before serving (migrations, a bucket check), and how to close.
public struct Storage: Sendable {
    public var metadata: any MetadataStore
    public var blobs: BlobStore
    public var services: [any Service]
    /// Runs once the services run, before the first request is served.
    public var prepare: @Sendable () async throws -> Void
    public var close: @Sendable () async throws -> Void

    public static func open(metadata: String, blobs: String, createBucket: Bool = false,
                            environment: [String: String] = ProcessInfo.processInfo.environment,
                            logger: Logger) async throws -> Storage {
        var services: [any Service] = []
        var preparations: [@Sendable () async throws -> Void] = []
        let store: any MetadataStore
        var close: @Sendable () async throws -> Void = {}
        switch metadata {
        case let url where url.hasPrefix("sqlite:"):
            let path = String(url.dropFirst("sqlite:".count))
            let folder = (path as NSString).deletingLastPathComponent
            try FileManager.default.createDirectory(atPath: folder.isEmpty ? "." : folder, withIntermediateDirectories: true)
            let sqlite = try await SQLiteMetadataStore.open(path: path)
            store = sqlite
            close = { try await sqlite.close() }
        case let url where url.hasPrefix("postgres://") || url.hasPrefix("postgresql://"):
            let postgres = try PostgresMetadataStore(url: url, environment: environment, logger: logger)
            services.append(postgres)
            preparations.append { try await postgres.migrate() }
            store = postgres
        case "memory:":
            store = MemoryMetadataStore()
        default:
            throw StorageLocationError("--metadata takes sqlite:PATH, postgres://USER@HOST:PORT/DATABASE or memory:, not \(metadata)")
        }
        let backend: any BlobBackend
        switch blobs {
        case let url where url.hasPrefix("file:"):
            backend = try FileSystemBlobBackend(root: String(url.dropFirst("file:".count)))
        case let url where url.hasPrefix("s3:"):
            let s3 = try S3BlobBackend(location: url, environment: environment, logger: logger)
            preparations.append {
                if createBucket { try await s3.createBucket() }
                try await s3.checkBucket()
            }
            backend = s3
        case "memory:":
            backend = MemoryBlobBackend()
        default:
            throw StorageLocationError("--blobs takes file:PATH, s3:http://HOST:PORT/BUCKET or memory:, not \(blobs)")
        }
        let prepare = preparations
        return Storage(metadata: store, blobs: BlobStore(backend), services: services,
                       prepare: { for step in prepare { try await step() } }, close: close)
    }
}

/// A store URL that names no known backend.
public struct StorageLocationError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
