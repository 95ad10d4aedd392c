import Foundation
import Hummingbird
import KPABE
import TwinProtocol
import TwinStorage

/// Grants: the owner, as the authority of their circle, posts a KP-ABE key HPKE-sealed to the
/// grantee; the grantee fetches it. Revoking makes the server stop serving the grantee.
struct GrantsController {
    let store: any MetadataStore
    let limits: ServerLimits

    func register(to router: some RouterMethods<TwinRequestContext>) {
        router.put("grants/:grantee", use: put)
        router.delete("grants/:grantee", use: revoke)
        router.get("grants", use: received)
        // Not under grants/: "issued" would also be a grantee's name there.
        router.get("issued-grants", use: issued)
    }

    @Sendable func put(_ request: Request, context: TwinRequestContext) async throws -> Response {
        let owner = try context.requireUser()
        let grantee = try context.parameters.decoded("grantee")
        let body = try await request.decode(as: GrantRequest.self, limit: limits.smallBody + limits.sealedKeyLength * 4 / 3,
                                            context: context)
        guard TwinProtocol.isValidUserName(grantee) else { throw APIError.badRequest("invalid user name") }
        guard body.policy.utf8.count <= limits.policyLength else {
            throw APIError.unprocessable("policy is longer than \(limits.policyLength) bytes")
        }
        let policy: Policy
        do {
            policy = try PolicyParser.parse(body.policy)
        } catch {
            throw APIError.unprocessable("\(error)")
        }
        guard policy.leaves.allSatisfy(AttributeVersion.isValid) else {
            throw APIError.unprocessable("policy attributes are 1–\(AttributeVersion.maximumAttributeLength) bytes without '#'")
        }
        guard grantee != owner else { throw APIError.unprocessable("owners read their own entries without a grant") }
        guard try await store.user(named: grantee) != nil else { throw APIError.notFound("no user \(grantee)") }
        guard (33...limits.sealedKeyLength).contains(body.sealedKey.count) else { throw APIError.unprocessable("sealed key size out of range") }
        let record = GrantRecord(owner: owner, grantee: grantee, policy: body.policy, sealedKey: Array(body.sealedKey), createdAt: Date())
        try await store.putGrant(record)
        return try jsonResponse(.created, GrantResponse(record), context: context)
    }

    @Sendable func revoke(_ request: Request, context: TwinRequestContext) async throws -> Response {
        let owner = try context.requireUser()
        let grantee = try context.parameters.decoded("grantee")
        guard try await store.revokeGrant(owner: owner, grantee: grantee) else { throw APIError.notFound("no grant to \(grantee)") }
        return Response(status: .noContent)
    }

    @Sendable func received(_ request: Request, context: TwinRequestContext) async throws -> GrantListResponse {
        let user = try context.requireUser()
        return GrantListResponse(grants: try await store.grants(grantee: user).map(GrantResponse.init))
    }

    @Sendable func issued(_ request: Request, context: TwinRequestContext) async throws -> GrantListResponse {
        let user = try context.requireUser()
        return GrantListResponse(grants: try await store.grants(owner: user).map(GrantResponse.init))
    }
}

extension GrantResponse {
    init(_ record: GrantRecord) {
        self.init(owner: record.owner, grantee: record.grantee, policy: record.policy, sealedKey: Data(record.sealedKey),
                  createdAt: record.createdAt)
    }
}
