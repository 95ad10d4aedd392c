import Foundation
import Hummingbird
import TwinOPRF
import TwinProtocol

/// How chunk keys are made on this server: locally from content (no key server), by this process
/// under its own key, or by a separate `twin keyserver`.
public enum KeyServerSetting: Sendable {
    case embedded(OPRFPrivateKey)
    case separate(url: String, publicKey: OPRFPublicKey)
}

/// `POST /v1/keys`: evaluates the OPRF on a batch of blinded key-unit messages for an
/// authenticated user. Each user may have `limits.keyEvaluations.burst` evaluations at once and
/// `perSecond` after that (429 with Retry-After beyond it): what bounds an online brute force of a
/// guessable image to that rate, since offline guessing needs the server's key.
struct KeyServerController {
    let key: OPRFPrivateKey
    let limits: ServerLimits
    let rate: RateLimiter

    init(key: OPRFPrivateKey, limits: ServerLimits) {
        self.key = key
        self.limits = limits
        rate = RateLimiter(limits.keyEvaluations)
    }

    func register(to router: some RouterMethods<TwinRequestContext>) {
        router.post("keys", use: evaluate)
    }

    @Sendable func evaluate(_ request: Request, context: TwinRequestContext) async throws -> KeyEvaluationResponse {
        let user = try context.requireUser()
        let body = try await request.decode(as: KeyEvaluationRequest.self, limit: limits.keyEvaluationBody, context: context)
        guard (1...KeyEvaluationRequest.maximumElements).contains(body.elements.count) else {
            throw APIError.badRequest("1 to \(KeyEvaluationRequest.maximumElements) elements per request")
        }
        guard body.elements.allSatisfy({ $0.count == key.publicKey.elementSize }) else {
            throw APIError.unprocessable("every element is \(key.publicKey.elementSize) bytes")
        }
        if let wait = rate.spend(user, cost: Double(body.elements.count)) {
            throw APIError.rateLimited("key evaluations", retryAfter: wait)
        }
        var evaluations: [Data] = []
        evaluations.reserveCapacity(body.elements.count)
        for element in body.elements {
            do {
                evaluations.append(Data(try key.evaluate(Array(element))))
            } catch {
                throw APIError.unprocessable("an element is not below the key's modulus")
            }
        }
        return KeyEvaluationResponse(keyID: Data(key.publicKey.id), evaluations: evaluations)
    }
}

extension KeyEvaluationResponse: ResponseEncodable {}
extension KeyServerInfo: ResponseEncodable {}

extension KeyServerSetting {
    /// What `GET /v1/server` publishes about it.
    func info(limits: ServerLimits) -> KeyServerInfo {
        let (burst, perHour) = (Int(limits.keyEvaluations.burst), Int((limits.keyEvaluations.perSecond * 3600).rounded()))
        switch self {
        case .embedded(let key):
            return KeyServerInfo(mode: "embedded", url: nil, publicKey: key.publicKey.derRepresentation, burst: burst, perHour: perHour)
        case .separate(let url, let publicKey):
            return KeyServerInfo(mode: "separate", url: url, publicKey: publicKey.derRepresentation, burst: burst, perHour: perHour)
        }
    }
}
