import ArgumentParser
import Foundation
import Logging
import Metrics
import Prometheus
import TwinOPRF
import TwinClient
import TwinProtocol
import TwinServer
import TwinStorage

/// `twin serve`: the server with its embedded defaults (SQLite and a blob folder under --data).
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the TwinStore server.")

    @Option(help: "Data folder: metadata.sqlite and blobs/ live here, unless --metadata or --blobs say otherwise.")
    var data = "./twin-data"
    @Option(help: "Metadata store: sqlite:PATH, postgres://USER@HOST:PORT/DATABASE (password from PGPASSWORD or the URL) or memory:.")
    var metadata: String?
    @Option(help: "Blob store: file:PATH, s3:http://HOST:PORT/BUCKET (keys from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION) or memory:.")
    var blobs: String?
    @Flag(help: "Create the S3 bucket if it does not exist.") var createBucket = false
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on.") var port = 8080
    @Option(help: "Seconds an unreferenced blob is kept before garbage collection.") var gcGrace: Double = 3600
    @Option(help: "Seconds between garbage-collection passes.") var gcInterval: Double = 600
    @Option(help: "Log level (trace, debug, info, notice, warning, error, critical).") var logLevel = "info"
    @Option(help: "Serve server-aided chunk keys under the RSA key in this file (made, mode 0600, if missing).")
    var oprfKey: String?
    @Option(help: "Have clients use the separate 'twin keyserver' at this URL for chunk keys.")
    var keyServer: String?
    @Option(help: "random:MAX: ask for every stored chunk again, as if new, until uploads sent it a secret number of times in [2, MAX] (no existence oracle).")
    var dedupThreshold: String?
    @Option(help: "The operator's token for /dashboard, in this file (made, mode 0600, if missing); without it the dashboard is off.")
    var adminTokenFile: String?
    @Option(help: "Seconds between the dashboard's samples of the store's totals.") var statsInterval: Double = 60
    @OptionGroup(title: "Limits (README, Limits)") var limits: LimitOptions

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else { throw ValidationError("unknown log level \(logLevel)") }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

        if metadata == nil || blobs == nil { try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true) }
        let storage = try await Storage.open(
            metadata: metadata ?? "sqlite:" + (data as NSString).appendingPathComponent("metadata.sqlite"),
            blobs: blobs ?? "file:" + (data as NSString).appendingPathComponent("blobs"),
            createBucket: createBucket, logger: Logger(label: "twin.storage"))
        var configuration = ServerConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.dataDirectory = data
        configuration.garbageGracePeriod = gcGrace
        guard gcInterval > 0 else { throw ValidationError("--gc-interval must be positive") }
        configuration.garbageInterval = .milliseconds(Int64(gcInterval * 1000))
        configuration.logLevel = level
        configuration.limits = try limits.serverLimits()
        if let dedupThreshold {
            guard dedupThreshold.hasPrefix("random:"), let maximum = Int(dedupThreshold.dropFirst(7)), (2...1_000_000).contains(maximum) else {
                throw ValidationError("--dedup-threshold takes random:MAX with MAX from 2 to 1000000, not '\(dedupThreshold)'")
            }
            configuration.dedupThreshold = maximum
        }
        switch (oprfKey, keyServer) {
        case (let file?, nil):
            configuration.keyServer = .embedded(try OPRFPrivateKey.loadOrCreate(at: URL(fileURLWithPath: file)))
        case (nil, let url?):
            configuration.keyServer = .separate(url: url, publicKey: try await TwinAPI(baseURL: url).keyServerPublicKey())
        case (nil, nil): break
        case (_?, _?): throw ValidationError("--oprf-key and --key-server exclude each other")
        }
        configuration.statisticsInterval = .milliseconds(Int64(max(1, statsInterval) * 1000))
        if let adminTokenFile {
            configuration.adminToken = try AdminToken.loadOrCreate(at: adminTokenFile)
            FileHandle.standardError.write(Data("dashboard: http://\(host):\(port)/dashboard?token=… (the token is in \(adminTokenFile))\n".utf8))
        }
        let app = buildApplication(configuration: configuration, store: storage.metadata, blobs: storage.blobs, prometheus: registry,
                                   services: storage.services, beforeServing: storage.prepare)
        // Runs until SIGINT or SIGTERM, then drains requests and stops its services.
        try await app.runService()
        try await storage.close()
    }
}

/// `twin serve`'s options for `ServerLimits`, one per limit, defaulting to its documented values.
/// Rates are written PER_SECOND/BURST (`20/200`).
struct LimitOptions: ParsableArguments {
    private static let defaults = ServerLimits()

    @Option(help: "Largest JSON body of accounts, logins and grants, in bytes.") var smallBody = defaults.smallBody
    @Option(help: "Largest begin body, in bytes.") var beginBody = defaults.beginBody
    @Option(help: "Largest commit body, in bytes.") var commitBody = defaults.commitBody
    @Option(help: "Chunks one upload session may announce.") var chunksPerUpload = defaults.chunksPerUpload
    @Option(help: "Attributes on one entry.") var attributesPerEntry = defaults.attributesPerEntry
    @Option(help: "Open upload sessions per user.") var uploadSessionsPerUser = defaults.uploadSessionsPerUser
    @Option(help: "Chunk bundles received at once, server-wide.") var bundlesInFlight = defaults.bundlesInFlight
    @Option(help: "Stored bytes a user's entries may name (each entry is charged its file's full size); 0 for none.")
    var quotaBytes = defaults.quotaBytes ?? 0
    @Option(help: "Open connections at once.") var maxConnections = defaults.maximumConnections
    @Option(help: "Seconds before an idle connection is closed.") var idleTimeout = Int(defaults.idleTimeout.components.seconds)
    @Option(help: "Requests per address to routes without login, PER_SECOND/BURST.") var anonymousRate = Self.text(defaults.anonymous)
    @Option(help: "Upload sessions begun per user, PER_SECOND/BURST.") var beginRate = Self.text(defaults.begins)
    @Option(help: "Proofs of ownership per user, PER_SECOND/BURST.") var proofRate = Self.text(defaults.proofs)
    @Option(help: "Ownership challenges drawn per user, PER_SECOND/BURST.") var challengeRate = Self.text(defaults.challenges)
    @Option(help: "Failed proofs per user, PER_SECOND/BURST.") var failedProofRate = Self.text(defaults.failedProofs)
    @Option(help: "Key-server evaluations per user, PER_SECOND/BURST.") var keyRate = Self.text(defaults.keyEvaluations)

    static func text(_ rate: ServerLimits.Rate) -> String { "\(rate.perSecond)/\(rate.burst)" }

    static func rate(_ text: String, _ option: String) throws -> ServerLimits.Rate {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let perSecond = Double(parts[0]), let burst = Double(parts[1]), perSecond >= 0, burst >= 1 else {
            throw ValidationError("--\(option) takes PER_SECOND/BURST, e.g. 20/200, not '\(text)'")
        }
        return .init(perSecond: perSecond, burst: burst)
    }

    func serverLimits() throws -> ServerLimits {
        for (value, name) in [(smallBody, "small-body"), (beginBody, "begin-body"), (commitBody, "commit-body"),
                              (chunksPerUpload, "chunks-per-upload"), (uploadSessionsPerUser, "upload-sessions-per-user"),
                              (bundlesInFlight, "bundles-in-flight"), (maxConnections, "max-connections"), (idleTimeout, "idle-timeout")]
        where value < 1 {
            throw ValidationError("--\(name) must be at least 1")
        }
        var limits = ServerLimits()
        limits.smallBody = smallBody
        limits.beginBody = beginBody
        limits.commitBody = commitBody
        limits.chunksPerUpload = chunksPerUpload
        limits.attributesPerEntry = attributesPerEntry
        limits.uploadSessionsPerUser = uploadSessionsPerUser
        limits.bundlesInFlight = bundlesInFlight
        limits.quotaBytes = quotaBytes > 0 ? quotaBytes : nil
        limits.maximumConnections = maxConnections
        limits.idleTimeout = .seconds(idleTimeout)
        limits.anonymous = try Self.rate(anonymousRate, "anonymous-rate")
        limits.begins = try Self.rate(beginRate, "begin-rate")
        limits.proofs = try Self.rate(proofRate, "proof-rate")
        limits.challenges = try Self.rate(challengeRate, "challenge-rate")
        limits.failedProofs = try Self.rate(failedProofRate, "failed-proof-rate")
        limits.keyEvaluations = try Self.rate(keyRate, "key-rate")
        return limits
    }
}

/// `twin keyserver`: the key server alone, checking the storage servers' tokens in their metadata
/// store.
struct KeyServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "keyserver", abstract: "Run the key server apart from the storage servers.")

    @Option(help: "The RSA key file (made, mode 0600, if missing).") var oprfKey: String
    @Option(help: "The storage servers' metadata store, to check bearer tokens.") var metadata: String
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on.") var port = 8081
    @Option(help: "Key-server evaluations per user, PER_SECOND/BURST.") var keyRate = LimitOptions.text(ServerLimits().keyEvaluations)

    func run() async throws {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        let key = try OPRFPrivateKey.loadOrCreate(at: URL(fileURLWithPath: oprfKey))
        let storage = try await Storage.open(metadata: metadata, blobs: "memory:", createBucket: false, logger: Logger(label: "twin.storage"))
        var configuration = ServerConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.limits.keyEvaluations = try LimitOptions.rate(keyRate, "key-rate")
        let app = buildKeyServerApplication(configuration: configuration, key: key, store: storage.metadata,
                                            services: storage.services, beforeServing: storage.prepare)
        try await app.runService()
        try await storage.close()
    }
}

/// The dashboard's admin token: 32 random bytes in hex, in a file only its owner reads.
enum AdminToken {
    static func loadOrCreate(at path: String) throws -> String {
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            let mode = (try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? 0
            guard mode & 0o077 == 0 else { throw ValidationError("\(path) is readable by others: chmod 600 it") }
            let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard token.count >= 32 else { throw ValidationError("\(path) holds no token of at least 32 characters") }
            return token
        }
        var generator = SystemRandomNumberGenerator()
        let token = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
        guard FileManager.default.createFile(atPath: path, contents: Data((token + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
            throw ValidationError("cannot write \(path)")
        }
        return token
    }
}

