import Crypto
import Synchronization
import TwinStorage

/// What the server derives from its store's secret (`MetadataStore.serverSecret`), the same on
/// every node of one store: its public identity, which registration and login signatures name.
/// The secret is read once, on first use, and never leaves the process.
final class ServerSecrets: Sendable {
    private let store: any MetadataStore
    private let cached = Mutex<SymmetricKey?>(nil)

    init(store: any MetadataStore) {
        self.store = store
    }

    private func secret() async throws -> SymmetricKey {
        if let known = cached.withLock({ $0 }) { return known }
        let fresh = SymmetricKey(data: try await store.serverSecret())
        cached.withLock { $0 = fresh }
        return fresh
    }

    /// `HMAC-SHA256(secret, "twin.server-id.v1")`: public, and says nothing about the secret.
    func identity() async throws -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array("twin.server-id.v1".utf8), using: try await secret()))
    }
}
