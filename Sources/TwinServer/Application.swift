import Foundation
import Hummingbird
import Logging
import Prometheus
import ServiceLifecycle
import TwinProtocol
import TwinStorage
import Convergent

/// How a server runs. The defaults are the embedded setup: SQLite and a blob folder under `./twin-data`.
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var dataDirectory = "./twin-data"
    public var tokenLifetime: TimeInterval = 3600
    public var uploadLifetime: TimeInterval = 3600
    public var garbageGracePeriod: TimeInterval = 3600
    public var garbageInterval: Duration = .seconds(600)
    public var ownershipPolicy: OwnershipPolicy = .standard
    public var limits = ServerLimits()
    public var logLevel: Logger.Level = .info
    /// nil: chunk keys come from content alone.
    public var keyServer: KeyServerSetting?
    /// `--dedup-threshold random:MAX`: each stored chunk is asked for again, as if new, until
    /// uploads have sent it its secret threshold of times (in [2, MAX]); nil for plain dedup.
    public var dedupThreshold: Int?
    /// The operator's token for `/dashboard` (nil: the dashboard is off).
    public var adminToken: String?
    /// How often the dashboard's history samples the store's totals.
    public var statisticsInterval: Duration = .seconds(60)

    public init() {}
}

/// Builds the application over the given stores: the one place where the router, the server and
/// its services are put together, used by `twin serve` and by tests alike.
public func buildApplication(
    configuration: ServerConfiguration, store: any MetadataStore, blobs: BlobStore,
    prometheus: PrometheusCollectorRegistry? = nil, services: [any Service] = [],
    beforeServing: (@Sendable () async throws -> Void)? = nil
) -> some ApplicationProtocol {
    var logger = Logger(label: "twin.server")
    logger.logLevel = configuration.logLevel
    let activity = ServerActivity()
    let statistics = StatisticsCache(store: store, coarse: configuration.dedupThreshold != nil)
    let router = buildRouter(configuration: configuration, store: store, blobs: blobs, prometheus: prometheus,
                             activity: activity, statistics: statistics)
    let limits = configuration.limits
    var app = Application(
        router: router,
        server: .http1(configuration: .init(idleTimeout: .nanoseconds(Int64(limits.idleTimeout / .nanoseconds(1))))),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "twin",
                             availableConnectionsDelegate: .maximum(limits.maximumConnections, logger: logger)),
        logger: logger)
    // Stores' services (connection pools) start first and stop last.
    app.addServices(services)
    // The collector's first pass waits for the stores to be prepared (a database migrated).
    let prepared = StartupGate()
    app.beforeServerStarts {
        try await beforeServing?()
        prepared.open()
    }
    var collector = GarbageCollector(store: store, blobs: blobs, gracePeriod: configuration.garbageGracePeriod,
                                     interval: configuration.garbageInterval, logger: logger, startAfter: prepared)
    collector.activity = activity
    app.addServices(collector, StatisticsSampler(statistics: statistics, activity: activity, interval: configuration.statisticsInterval, startAfter: prepared))
    return app
}

/// Every route and middleware of the API.
func buildRouter(configuration: ServerConfiguration, store: any MetadataStore, blobs: BlobStore,
                 prometheus: PrometheusCollectorRegistry? = nil, activity: ServerActivity = ServerActivity(),
                 statistics: StatisticsCache? = nil) -> Router<TwinRequestContext> {
    let metrics = TwinMetrics()
    let statistics = statistics ?? StatisticsCache(store: store, coarse: configuration.dedupThreshold != nil)
    let router = Router(context: TwinRequestContext.self)
    router.add(middleware: LogRequestsMiddleware(.debug))
    router.add(middleware: MetricsMiddleware())
    router.add(middleware: ActivityMiddleware(activity: activity))
    let routes = RouteTable()
    router.add(middleware: ErrorMiddleware(routes: routes))

    router.get("healthz") { _, _ in Response(status: .ok, headers: [.contentType: "application/json"],
                                             body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ok"}"#))) }
    router.get("openapi.yaml") { _, _ in
        Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.yaml)))
    }
    // With an admin token, the metrics are the operator's too: scrapers send it as a bearer token.
    router.get("metrics") { request, _ in
        if let adminToken = configuration.adminToken {
            guard DashboardController.pageToken(adminToken).isBearer(of: request) else {
                throw APIError(.unauthorized, .unauthenticated, "/metrics needs the admin token as a bearer token")
            }
        }
        let stats = try await statistics.statistics()
        metrics.storedBytes.record(stats.storedBytes)
        metrics.logicalBytes.record(stats.logicalBytes)
        var text: [UInt8] = []
        prometheus?.emit(into: &text)
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(bytes: text)))
    }

    let api = router.group(RouterPath(TwinProtocol.apiPrefix)).add(middleware: AuthenticationMiddleware(store: store))
    let limits = configuration.limits
    let anonymous = api.group().add(middleware: AddressRateLimitMiddleware(limiter: RateLimiter(limits.anonymous)))
    let secrets = ServerSecrets(store: store)
    AccountController(store: store, secrets: secrets, limits: limits,
                      tokenLifetime: configuration.tokenLifetime, keyServer: configuration.keyServer?.info(limits: limits))
        .register(to: anonymous)
    if case .embedded(let key) = configuration.keyServer {
        KeyServerController(key: key, limits: limits).register(to: api)
    }
    let uploads = UploadService(store: store, blobs: blobs, metrics: metrics, limits: limits,
                                sessionLifetime: configuration.uploadLifetime, ownershipPolicy: configuration.ownershipPolicy,
                                dedupThreshold: configuration.dedupThreshold.map { (secrets, $0) })
    UploadController(uploads: uploads, metrics: metrics, limits: limits).register(to: api)
    FilesController(store: store, blobs: blobs, metrics: metrics, entryKeys: EntryKeysService(store: store), limits: limits).register(to: api)
    GrantsController(store: store, limits: limits).register(to: api)
    api.get("stats") { _, context -> StatsResponse in
        _ = try context.requireUser()
        // Exact and fresh, unless a dedup threshold needs them coarse (`StatisticsCache`).
        let stats = statistics.coarse ? try await statistics.statistics() : try await store.statistics()
        return StatsResponse(users: stats.users, files: stats.files, entries: stats.entries, chunks: stats.chunks,
                             logicalBytes: stats.logicalBytes, storedBytes: stats.storedBytes,
                             dedupRatio: stats.storedBytes == 0 ? 1 : Double(stats.logicalBytes) / Double(stats.storedBytes))
    }
    DashboardController(store: store, statistics: statistics, activity: activity, adminToken: configuration.adminToken,
                        quota: configuration.limits.quotaBytes).register(to: router)
    routes.load(router.routes.map { ($0.path, $0.method) })
    return router
}
