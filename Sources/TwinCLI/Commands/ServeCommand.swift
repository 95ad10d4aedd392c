import ArgumentParser
import Foundation
import Logging
import Metrics
import Prometheus
import TwinServer
import TwinStorage

/// `twin serve`: the server with its embedded defaults (SQLite and a blob folder under --data).
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the TwinStore server.")

    @Option(help: "Data folder: metadata.sqlite and blobs/ live here.") var data = "./twin-data"
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on.") var port = 8080
    @Option(help: "Seconds an unreferenced blob is kept before garbage collection.") var gcGrace: Double = 3600
    @Option(help: "Log level (trace, debug, info, notice, warning, error, critical).") var logLevel = "info"

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else { throw ValidationError("unknown log level \(logLevel)") }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let store = try await SQLiteMetadataStore.open(path: (data as NSString).appendingPathComponent("metadata.sqlite"))
        let blobs = try FileSystemBlobStore(root: (data as NSString).appendingPathComponent("blobs"))
        var configuration = ServerConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.dataDirectory = data
        configuration.garbageGracePeriod = gcGrace
        configuration.logLevel = level
        let app = buildApplication(configuration: configuration, store: store, blobs: blobs, prometheus: registry)
        // Runs until SIGINT or SIGTERM, then drains requests and stops its services.
        try await app.runService()
        try await store.close()
    }
}
