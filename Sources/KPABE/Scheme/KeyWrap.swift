import BinaryCoding
import Crypto
import Synchronization

/// Wraps many small keys under one attribute set with a single KP-ABE encryption.
///
/// The capsule is a KP-ABE ciphertext whose payload is a fresh 256-bit wrapping key; each key is then
/// sealed under the wrapping key with AES-256-GCM (random nonce) and bound to the capsule and to a
/// caller-chosen context (TwinStore binds each file key to its file's tag). Opening a wrapped key
/// needs a decryption key whose policy the capsule's attributes satisfy, and the same context.
///
/// Why not one KP-ABE encryption per key: it costs a G2 and a G1 multiplication per attribute and a
/// GT exponentiation, the largest cost of an upload after the chunk pipeline, and the server pays a
/// full validation of every group element again. A run of uploads under one attribute set shares
/// one capsule: one encryption for the run, and one validation per capsule on the server
/// (`CapsuleCache`). A capsule only ever protects keys its owner wrapped under the same attributes,
/// so whoever can open one of them could open all of them anyway. (The capsule does show the server
/// which entries were wrapped in one run; it knows their owner and upload times regardless.)
public struct AttributeKeyWrapper: Sendable {
    public let capsule: Ciphertext
    private let capsuleBytes: [UInt8]
    private let wrappingKey: SymmetricKey

    /// Encrypts a fresh wrapping key under `attributes` for `parameters`' authority.
    public init(attributes: some Sequence<String>, parameters: PublicParameters) throws(KPABEError) {
        let wrappingKey = SymmetricKey(size: .bits256)
        capsule = try KPABE.encrypt(wrappingKey.withUnsafeBytes { Array($0) }, attributes: attributes, to: parameters)
        capsuleBytes = capsule.encoded()
        self.wrappingKey = wrappingKey
    }

    /// Seals `key` under the capsule, bound to `context`.
    public func wrap(_ key: some Collection<UInt8>, context: some Collection<UInt8>) -> WrappedKey {
        let box = try! AES.GCM.seal(Array(key), using: wrappingKey,
                                    authenticating: WrappedKey.associatedData(capsule: capsuleBytes, context: context))
        return WrappedKey(capsule: capsule, capsuleBytes: capsuleBytes, nonce: Array(box.nonce),
                          sealedKey: Array(box.ciphertext) + Array(box.tag))
    }
}

/// A key wrapped by `AttributeKeyWrapper`.
///
/// Encoding: `"TWAW" 01 | u32 len | capsule (KP-ABE ciphertext encoding) | nonce[12] | u32 len |
/// AES-256-GCM ciphertext‖tag` (associated data: a label, SHA-256 of the capsule, the context);
/// decoding validates the capsule fully (every group element on its curve and in its subgroup) unless
/// a cache vouches for its exact bytes, and refuses anything left over.
public struct WrappedKey: Sendable, Equatable {
    public let capsule: Ciphertext
    let capsuleBytes: [UInt8]
    let nonce: [UInt8]
    let sealedKey: [UInt8]

    static let magic = Array("TWAW".utf8)
    static let version: UInt8 = 1
    /// Far above any real capsule (a few hundred bytes per attribute), far below anything that hurts.
    static let maximumCapsule = 1 << 16
    static let maximumSealedKey = 1 << 10

    init(capsule: Ciphertext, capsuleBytes: [UInt8], nonce: [UInt8], sealedKey: [UInt8]) {
        self.capsule = capsule
        self.capsuleBytes = capsuleBytes
        self.nonce = nonce
        self.sealedKey = sealedKey
    }

    /// The attributes the key is wrapped under.
    public var attributes: [String] { capsule.attributes }

    public func encoded() -> [UInt8] {
        var writer = BinaryWriter(capacity: 9 + capsuleBytes.count + nonce.count + 4 + sealedKey.count)
        writer.write(raw: Self.magic)
        writer.write(Self.version)
        writer.write(lengthPrefixed: capsuleBytes)
        writer.write(raw: nonce)
        writer.write(lengthPrefixed: sealedKey)
        return writer.bytes
    }

    /// Decodes and validates `bytes`; a capsule `capsules` remembers is not validated again.
    public init(decoding bytes: [UInt8], capsules: CapsuleCache? = nil) throws {
        var reader = BinaryReader(bytes)
        try reader.readHeader(magic: Self.magic, version: Self.version)
        let capsuleBytes = try reader.readLengthPrefixed("capsule", maxLength: Self.maximumCapsule)
        let nonce = Array(try reader.read("nonce", count: 12))
        let sealedKey = try reader.readLengthPrefixed("sealed key", maxLength: Self.maximumSealedKey)
        guard sealedKey.count >= 16 else { throw BinaryDecodingError.truncated(field: "sealed key") }
        try reader.finish()
        let capsule = try capsules?.capsule(encodedAs: capsuleBytes) ?? Ciphertext(decoding: capsuleBytes)
        self.init(capsule: capsule, capsuleBytes: capsuleBytes, nonce: nonce, sealedKey: sealedKey)
    }

    /// Opens the capsule with `key` and the sealed key with the wrapping key inside, checking `context`.
    public func unwrap(with key: DecryptionKey, context: some Collection<UInt8>) throws(KPABEError) -> [UInt8] {
        let wrappingKey = SymmetricKey(data: try KPABE.decrypt(capsule, with: key))
        guard let box = try? AES.GCM.SealedBox(nonce: AES.GCM.Nonce(data: nonce), ciphertext: sealedKey.dropLast(16),
                                               tag: sealedKey.suffix(16)),
              let opened = try? AES.GCM.open(box, using: wrappingKey,
                                             authenticating: Self.associatedData(capsule: capsuleBytes, context: context))
        else { throw .decryptionFailed }
        return Array(opened)
    }

    static func associatedData(capsule: [UInt8], context: some Collection<UInt8>) -> [UInt8] {
        Array("twinstore kp-abe key wrap v1".utf8) + Array(SHA256.hash(data: capsule)) + context
    }
}

/// Remembers capsules a caller decoded, validated and accepted, by the SHA-256 of their encoding,
/// so a server receiving one run's wrapped keys validates the shared capsule once. Sound because
/// decoding is a pure function of the bytes; only what the caller accepted (`remember`) is kept, so a
/// refused capsule never lands here. Bounded by the bytes of the capsules held; when full it starts over.
public final class CapsuleCache: Sendable {
    private struct State {
        var capsules: [SHA256.Digest: Ciphertext] = [:]
        var bytes = 0
    }

    private let state = Mutex(State())
    public let capacityBytes: Int

    public init(capacityBytes: Int = 4 << 20) {
        self.capacityBytes = capacityBytes
    }

    /// The capsule encoded as `bytes`: remembered, or decoded and validated now (not remembered).
    func capsule(encodedAs bytes: [UInt8]) throws -> Ciphertext {
        if let known = state.withLock({ $0.capsules[SHA256.hash(data: bytes)] }) { return known }
        return try Ciphertext(decoding: bytes)
    }

    /// Keeps `wrapped`'s capsule for later decodings.
    public func remember(_ wrapped: WrappedKey) {
        let digest = SHA256.hash(data: wrapped.capsuleBytes)
        state.withLock { state in
            guard state.capsules[digest] == nil else { return }
            if state.bytes + wrapped.capsuleBytes.count > capacityBytes {
                state = State()
            }
            state.capsules[digest] = wrapped.capsule
            state.bytes += wrapped.capsuleBytes.count
        }
    }

    /// Capsules currently remembered.
    public var count: Int { state.withLock { $0.capsules.count } }
}
