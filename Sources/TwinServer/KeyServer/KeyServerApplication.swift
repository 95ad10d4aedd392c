import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import TwinOPRF
import TwinProtocol
import TwinStorage

/// `twin keyserver`: the key server as a process of its own (DupLESS's separation of roles). It
/// serves `POST /v1/keys` to users holding a bearer token of the storage servers (it reads the
/// same metadata store to check tokens, and nothing else), and `GET /v1/keyserver`, from which a
/// storage server started with `--key-server` learns the public key it publishes.
public func buildKeyServerApplication(
    configuration: ServerConfiguration, key: OPRFPrivateKey, store: any MetadataStore, services: [any Service] = [],
    beforeServing: (@Sendable () async throws -> Void)? = nil
) -> some ApplicationProtocol {
    var logger = Logger(label: "twin.keyserver")
    logger.logLevel = configuration.logLevel
    let router = Router(context: TwinRequestContext.self)
    let routes = RouteTable()
    router.add(middleware: ErrorMiddleware(routes: routes))
    router.get("healthz") { _, _ in Response(status: .ok, headers: [.contentType: "application/json"],
                                             body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ok"}"#))) }
    let api = router.group(RouterPath(TwinProtocol.apiPrefix))
    let info = KeyServerSetting.embedded(key).info(limits: configuration.limits)
    api.get("keyserver") { _, _ in info }
    KeyServerController(key: key, limits: configuration.limits).register(to: api.group().add(middleware: AuthenticationMiddleware(store: store)))
    routes.load(router.routes.map { ($0.path, $0.method) })
    var app = Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "twin-keyserver"),
        logger: logger)
    app.addServices(services)
    app.beforeServerStarts { try await beforeServing?() }
    return app
}
