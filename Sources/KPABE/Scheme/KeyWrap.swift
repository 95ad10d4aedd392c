import BinaryCoding
import Crypto
import Synchronization

/// Wraps many small keys under one attribute set with a single KP-ABE encryption.
///
/// The capsule is a KP-ABE ciphertext whose payload is a fresh 256-bit wrapping key; each key is then
/// sealed under the wrapping key with AES-256-GCM (random nonce) and bound to a caller-chosen context
/// (TwinStore binds each file key to its file's tag). Opening a wrapped key needs a decryption key
/// whose policy the capsule's attributes satisfy, and the same context.
///
/// Why not one KP-ABE encryption per key: it costs a G2 and a G1 multiplication per attribute and a
/// GT exponentiation, the largest cost of an upload after the chunk pipeline, and the server pays a
/// full validation of every group element again. A run of uploads under one attribute set shares
/// one capsule: one encryption for the run, and one validation per capsule on the server
/// (`CapsuleCache`). A capsule only ever protects keys its owner wrapped under the same attributes,
/// so whoever can open one of them could open all of them anyway.
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
        let box = try! AES.GCM.seal(Array(key), using: wrappingKey, authenticating: WrappedKey.associatedData(context))
        return WrappedKey(capsule: capsule, capsuleBytes: capsuleBytes, nonce: Array(box.nonce),
                          sealedKey: Array(box.ciphertext) + Array(box.tag))
    }
}

/// A key wrapped by `AttributeKeyWrapper`.
///
/// Encoding: `"TWAW" 01 | u32 len | capsule (KP-ABE ciphertext encoding) | nonce[12] | u32 len |
/// AES-256-GCM ciphertext‖tag`; decoding validates the capsule fully (every group element on its
/// curve and in its subgroup) and refuses anything left over.
public struct WrappedKey: Sendable, Equatable {
    public let capsule: Ciphertext
    let capsuleBytes: [UInt8]
    let nonce: [UInt8]
    let sealedKey: [UInt8]

    static let magic = Array("TWAW".utf8)
    static let version: UInt8 = 1
    static let maximumCapsule = 1 << 20
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

    /// Decodes and validates `bytes`; a capsule found in `capsules` is not validated again.
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
              let opened = try? AES.GCM.open(box, using: wrappingKey, authenticating: Self.associatedData(context))
        else { throw .decryptionFailed }
        return Array(opened)
    }

    static func associatedData(_ context: some Collection<UInt8>) -> [UInt8] {
        Array("twinstore kp-abe key wrap v1".utf8) + context
    }
}

/// Remembers capsules decoded and validated before, by the SHA-256 of their encoding, so a server
/// receiving one run's wrapped keys validates the shared capsule once. Sound because decoding is a
/// pure function of the bytes. Bounded; when full it starts over.
public final class CapsuleCache: Sendable {
    private let capsules = Mutex<[SHA256.Digest: Ciphertext]>([:])
    public let capacity: Int

    public init(capacity: Int = 4096) {
        self.capacity = capacity
    }

    func capsule(encodedAs bytes: [UInt8]) throws -> Ciphertext {
        let digest = SHA256.hash(data: bytes)
        if let known = capsules.withLock({ $0[digest] }) { return known }
        let capsule = try Ciphertext(decoding: bytes)
        capsules.withLock { capsules in
            if capsules.count >= capacity { capsules.removeAll(keepingCapacity: true) }
            capsules[digest] = capsule
        }
        return capsule
    }

    /// Capsules currently remembered.
    public var count: Int { capsules.withLock { $0.count } }
}
