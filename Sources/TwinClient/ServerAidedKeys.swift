import Convergent
import Crypto
import Foundation
import Synchronization
import TwinOPRF
import TwinProtocol

/// Chunk key sources from the server's key server (`ChunkKeyDerivation`): each unit's message is
/// blinded, evaluated in batches of up to `KeyEvaluationRequest.maximumElements` (one request
/// each), checked against the key server's pinned public key and unblinded. Sources already known
/// come from `cache` and cost nothing.
final class ServerAidedKeyDerivation: ChunkKeyDerivation {
    let publicKey: OPRFPublicKey
    let api: TwinAPI
    let cache: KeySourceCache
    /// Units evaluated by the key server (not found in the cache), and requests sent.
    let counts = Mutex((evaluations: 0, requests: 0))

    init(publicKey: OPRFPublicKey, api: TwinAPI, cache: KeySourceCache) {
        self.publicKey = publicKey
        self.api = api
        self.cache = cache
    }

    func keySources(for units: [KeyUnit]) async throws -> [SymmetricKey] {
        let messages = units.map(\.message)
        var sources = messages.map { cache.source(for: $0) }
        let missing = sources.indices.filter { sources[$0] == nil }
        for start in stride(from: 0, to: missing.count, by: KeyEvaluationRequest.maximumElements) {
            let batch = Array(missing[start..<min(start + KeyEvaluationRequest.maximumElements, missing.count)])
            var inputs: [OPRFBlindedInput] = []
            for index in batch { inputs.append(try publicKey.blind(messages[index])) }
            let response = try await api.evaluateKeys(KeyEvaluationRequest(elements: inputs.map { Data($0.blindedElement) }))
            counts.withLock { $0 = ($0.evaluations + batch.count, $0.requests + 1) }
            guard response.keyID.elementsEqual(publicKey.id), response.evaluations.count == batch.count else {
                throw TwinClientError.integrity("the key server answered under another key or for another number of units")
            }
            for (position, index) in batch.enumerated() {
                let source: SymmetricKey
                do { source = try publicKey.finalize(Array(response.evaluations[position]), for: inputs[position]) } catch {
                    throw TwinClientError.integrity("a key-server answer does not verify under its pinned key: \(error)")
                }
                sources[index] = source
                cache.insert(source, for: messages[index])
            }
        }
        return sources.map { $0! }
    }
}

/// Key sources this user had evaluated before, so repeated uploads do not pay twice: kept in
/// `$TWIN_HOME/key-sources.bin` (mode 0600) for the command line, in memory otherwise.
///
/// A record is `HMAC(k, key id ‖ message) (32) ‖ AES-256-GCM(k, r_U, aad: that index) (60)`, with
/// `k` derived from the keyring's owner-wrapping key: the file reveals neither which units the
/// user holds nor their sources to anyone without the keyring. At most `maximumRecords` are kept.
final class KeySourceCache: Sendable {
    static let recordSize = 32 + 12 + 32 + 16
    static let maximumRecords = 500_000
    private let key: SymmetricKey
    private let scope: [UInt8]
    private let file: URL?
    private let known: Mutex<[Data: SymmetricKey]>

    init(keyring: Keyring, keyServer: OPRFPublicKey, file: URL?) {
        key = SymmetricKey(data: HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: keyring.ownerWrappingKey),
                                                        info: Data("twin.key-source-cache.v1".utf8), outputByteCount: 32))
        scope = keyServer.id
        self.file = file
        var loaded: [Data: SymmetricKey] = [:]
        if let file, let data = try? Data(contentsOf: file) {
            var offset = 0
            while offset + Self.recordSize <= data.count {
                let index = data.subdata(in: offset..<(offset + 32))
                if let box = try? AES.GCM.SealedBox(combined: data.subdata(in: (offset + 32)..<(offset + Self.recordSize))),
                   let source = try? AES.GCM.open(box, using: key, authenticating: index) {
                    loaded[index] = SymmetricKey(data: source)
                }
                offset += Self.recordSize
            }
        }
        known = Mutex(loaded)
    }

    private func index(_ message: [UInt8]) -> Data {
        Data(HMAC<SHA256>.authenticationCode(for: scope + message, using: key))
    }

    func source(for message: [UInt8]) -> SymmetricKey? {
        let index = index(message)
        return known.withLock { $0[index] }
    }

    /// Remembers `source`; appends it to the file under the lock, so records never interleave.
    /// Best effort: a record that cannot be written only means the unit is evaluated again.
    func insert(_ source: SymmetricKey, for message: [UInt8]) {
        let index = index(message)
        let sealed = try? AES.GCM.seal(source.withUnsafeBytes { Data($0) }, using: key, authenticating: index).combined
        known.withLock { known in
            guard known[index] == nil, known.count < Self.maximumRecords else { return }
            known[index] = source
            guard let file, let sealed else { return }
            if !FileManager.default.fileExists(atPath: file.path) {
                FileManager.default.createFile(atPath: file.path, contents: nil, attributes: [.posixPermissions: 0o600])
            }
            guard let handle = try? FileHandle(forWritingTo: file) else { return }
            defer { try? handle.close() }
            _ = try? handle.seekToEnd()
            try? handle.write(contentsOf: index + sealed)
        }
    }
}
