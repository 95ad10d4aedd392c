import Convergent
import Crypto
import Synchronization
import TwinStorage

/// What the server derives from its store's secret (`MetadataStore.serverSecret`), the same on
/// every node of one store: its public identity, which registration and login signatures name,
/// and each chunk's secret dedup threshold. The secret is read once, on first use, and never
/// leaves the process.
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

    /// The chunk's threshold in [2, `maximum`]: `2 + HMAC-SHA256(secret, "twin.dedup-threshold.v1" ‖
    /// tag) mod (maximum − 1)`, the first 8 bytes read big-endian (the bias is below 2^-50 for any
    /// `maximum` a server would set). Secret and fixed per chunk, so repeated probes learn nothing new.
    func dedupThreshold(for tag: Tag, maximum: Int) async throws -> Int {
        let mac = HMAC<SHA256>.authenticationCode(for: Array("twin.dedup-threshold.v1".utf8) + tag.bytes, using: try await secret())
        let value = Array(mac).prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return 2 + Int(value % UInt64(max(1, maximum - 1)))
    }
}
