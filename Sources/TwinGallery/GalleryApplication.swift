import Convergent
import Foundation
import Hummingbird
import TwinClient
import TwinProtocol

/// What the gallery serves, for one logged-in user.
public struct GalleryConfiguration: Sendable {
    public var port: Int
    /// The secret of the first URL (`?token=`), exchanged for a cookie.
    public var token: String
    /// Tiles per page of a grid.
    public var pageSize = 500
    public init(port: Int, token: String) {
        self.port = port
        self.token = token
    }

    /// A fresh random token (32 bytes, hex).
    public static func makeToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }
}

/// The user's session, shared by requests: reads use a copy; revoking (which raises the keyring's
/// attribute versions) replaces it.
actor GallerySession {
    private(set) var session: TwinSession
    let saveKeyring: @Sendable (Keyring) throws -> Void

    init(_ session: TwinSession, saveKeyring: @escaping @Sendable (Keyring) throws -> Void) {
        self.session = session
        self.saveKeyring = saveKeyring
    }

    func revoke(_ user: String) async throws -> TwinSession.RevocationReport {
        var copy = session
        let report = try await copy.revoke(user, saveKeyring: saveKeyring)
        session = copy
        return report
    }
}

/// The gallery as a Hummingbird application on 127.0.0.1:`configuration.port`.
public func buildGalleryApplication(session: TwinSession, configuration: GalleryConfiguration,
                                    saveKeyring: @escaping @Sendable (Keyring) throws -> Void,
                                    onRunning: @escaping @Sendable () -> Void = {}) -> some ApplicationProtocol {
    let router = Router()
    router.add(middleware: GallerySecurity(port: configuration.port, token: configuration.token))
    GalleryController(session: GallerySession(session, saveKeyring: saveKeyring), user: session.keyring.user,
                      pageSize: configuration.pageSize).register(to: router)
    return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: configuration.port),
                                                            serverName: "twin-gallery"),
                       onServerRunning: { _ in onRunning() })
}
