import Crypto
import Foundation
import Hummingbird
import KPABE
import TwinProtocol
import TwinStorage

/// Registration and login. A user is their Ed25519 key: registering proves possession by a
/// signature, logging in signs a fresh single-use nonce, and the reward is a short-lived token.
/// Both signatures name this server's identity (`GET /v1/server`), so neither can be replayed at
/// another server.
struct AccountController {
    let store: any MetadataStore
    let secrets: ServerSecrets
    let limits: ServerLimits
    let tokenLifetime: TimeInterval
    let keyServer: KeyServerInfo?
    let challengeLifetime: TimeInterval = 120

    func register(to router: some RouterMethods<TwinRequestContext>) {
        router.get("server", use: server)
        router.post("users", use: register)
        router.get("users/:name", use: user)
        router.post("auth/challenge", use: challenge)
        router.post("auth/token", use: token)
    }

    @Sendable func server(_ request: Request, context: TwinRequestContext) async throws -> ServerInfoResponse {
        ServerInfoResponse(id: Data(try await secrets.identity()), keyServer: keyServer)
    }

    @Sendable func register(_ request: Request, context: TwinRequestContext) async throws -> Response {
        let body = try await request.decode(as: RegisterRequest.self, limit: limits.smallBody, context: context)
        guard TwinProtocol.isValidUserName(body.name) else { throw APIError.badRequest("invalid user name") }
        // The signature first: without one that verifies nothing else about the body matters.
        guard let signingKey = try? Curve25519.Signing.PublicKey(rawRepresentation: body.signingKey),
              (try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: body.agreementKey)) != nil
        else { throw APIError.unprocessable("keys must be raw 32-byte Ed25519 and X25519 public keys") }
        let message = TwinProtocol.registrationMessage(
            server: try await secrets.identity(), name: body.name, signingKey: Array(body.signingKey), agreementKey: Array(body.agreementKey),
            authorityParameters: Array(body.authorityParameters))
        guard signingKey.isValidSignature(body.signature, for: message) else {
            throw APIError(.unauthorized, .unauthenticated, "registration signature does not verify")
        }
        guard (try? PublicParameters(decoding: Array(body.authorityParameters))) != nil else {
            throw APIError.unprocessable("authority parameters do not decode")
        }
        try await store.createUser(UserRecord(
            name: body.name, signingKey: Array(body.signingKey), agreementKey: Array(body.agreementKey),
            authorityParameters: Array(body.authorityParameters), createdAt: Date()))
        return try jsonResponse(.created, UserResponse(body: body), context: context)
    }

    @Sendable func user(_ request: Request, context: TwinRequestContext) async throws -> UserResponse {
        let name = try context.parameters.decoded("name")
        guard let user = try await store.user(named: name) else { throw APIError.notFound("no user \(name)") }
        return UserResponse(name: user.name, signingKey: Data(user.signingKey), agreementKey: Data(user.agreementKey),
                            authorityParameters: Data(user.authorityParameters))
    }

    @Sendable func challenge(_ request: Request, context: TwinRequestContext) async throws -> LoginChallengeResponse {
        let body = try await request.decode(as: LoginChallengeRequest.self, limit: limits.smallBody, context: context)
        // Only names that could be accounts get a nonce: the one stored row is bounded.
        guard TwinProtocol.isValidUserName(body.user) else { throw APIError.badRequest("invalid user name") }
        // Unknown users get a nonce too, so this endpoint does not list accounts.
        let nonce = randomBytes(32)
        let expiresAt = Date().addingTimeInterval(challengeLifetime)
        try await store.storeLoginChallenge(nonce, user: body.user, expiresAt: expiresAt)
        return LoginChallengeResponse(nonce: Data(nonce), expiresAt: expiresAt)
    }

    @Sendable func token(_ request: Request, context: TwinRequestContext) async throws -> TokenResponse {
        let body = try await request.decode(as: TokenRequest.self, limit: limits.smallBody, context: context)
        let failure = APIError(.unauthorized, .unauthenticated, "login failed")
        guard let owner = try await store.consumeLoginChallenge(Array(body.nonce), now: Date()), owner == body.user,
              let user = try await store.user(named: body.user),
              let key = try? Curve25519.Signing.PublicKey(rawRepresentation: user.signingKey),
              key.isValidSignature(body.signature, for: TwinProtocol.loginMessage(server: try await secrets.identity(), user: body.user,
                                                                                  nonce: Array(body.nonce)))
        else { throw failure }
        let token = randomBytes(32)
        let expiresAt = Date().addingTimeInterval(tokenLifetime)
        try await store.storeSession(tokenHash: Array(SHA256.hash(data: token)), user: user.name, expiresAt: expiresAt)
        return TokenResponse(token: Data(token).base64URLEncodedString(), expiresAt: expiresAt)
    }
}

extension UserResponse: ResponseEncodable {
    init(body: RegisterRequest) {
        self.init(name: body.name, signingKey: body.signingKey, agreementKey: body.agreementKey,
                  authorityParameters: body.authorityParameters)
    }
}

extension LoginChallengeResponse: ResponseEncodable {}
extension ServerInfoResponse: ResponseEncodable {}
extension TokenResponse: ResponseEncodable {}
extension BeginUploadResponse: ResponseEncodable {}
extension EntryResponse: ResponseEncodable {}
extension EntryListResponse: ResponseEncodable {}
extension GrantResponse: ResponseEncodable {}
extension GrantListResponse: ResponseEncodable {}
extension StatsResponse: ResponseEncodable {}

func randomBytes(_ count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
}

/// A JSON response with an explicit status (Hummingbird's default for encodables is 200).
func jsonResponse(_ status: HTTPResponse.Status, _ value: some Encodable, context: TwinRequestContext) throws -> Response {
    let data = try context.responseEncoder.encode(value)
    return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
}
