import BLS12381
import BinaryCoding

/// Versioned, strict binary encodings (big-endian; points in ZCash compressed form, validated on the
/// curve and in the subgroup, identity refused):
///
/// - public parameters: `"TWAP" 01 | authority[16] | Y[576]`
/// - master secret:     `"TWAM" 01 | authority[16] | α[32]` (0 < α < r)
/// - decryption key:    `"TWAK" 01 | authority[16] | policy node`, where a node is
///   `00 | u16 len | attribute | D[48] | d[96]` or `01 | u16 k | u16 n | n nodes`
/// - ciphertext:        `"TWAC" 01 | authority[16] | u16 n | n × (u16 len | attribute | C_x[48]) | C0[96] |
///   u32 len | AES-256-GCM ciphertext‖tag`; attributes strictly ascending by UTF-8 bytes. Everything
///   before the sealed payload is its associated data.
enum Magic {
    static let publicParameters = Array("TWAP".utf8)
    static let masterSecret = Array("TWAM".utf8)
    static let decryptionKey = Array("TWAK".utf8)
    static let ciphertext = Array("TWAC".utf8)
    static let version: UInt8 = 1
    static let maximumPayload = 1 << 24
}

extension BinaryReader {
    mutating func readAuthority() throws -> AuthorityID {
        AuthorityID(bytes: try read("authority", count: AuthorityID.byteCount))!
    }

    mutating func readAttribute() throws -> String {
        let raw = try readShortLengthPrefixed("attribute", maxLength: Policy.maximumAttributeLength)
        guard !raw.isEmpty, let name = String(validating: raw, as: UTF8.self) else {
            throw BinaryDecodingError.invalidValue(field: "attribute", reason: "empty or not UTF-8")
        }
        return name
    }

    mutating func readG1(_ field: String) throws -> G1Affine {
        let bytes = Array(try read(field, count: 48))
        guard let point = try? G1Affine(compressed: bytes), !point.isIdentity else {
            throw KPABEError.invalidGroupElement(field: field)
        }
        return point
    }

    mutating func readG2(_ field: String) throws -> G2Affine {
        let bytes = Array(try read(field, count: 96))
        guard let point = try? G2Affine(compressed: bytes), !point.isIdentity else {
            throw KPABEError.invalidGroupElement(field: field)
        }
        return point
    }
}

extension PublicParameters {
    public func encoded() -> [UInt8] {
        var writer = BinaryWriter()
        writer.write(raw: Magic.publicParameters)
        writer.write(Magic.version)
        writer.write(raw: authority.bytes)
        writer.write(raw: y.bytes)
        return writer.bytes
    }

    /// The authority that `bytes`, an encoding of public parameters, names: the header alone is read
    /// (for parameters validated in full before, e.g. at registration), without the GT subgroup check.
    public static func authority(ofEncoded bytes: [UInt8]) throws -> AuthorityID {
        var reader = BinaryReader(bytes)
        try reader.readHeader(magic: Magic.publicParameters, version: Magic.version)
        return try reader.readAuthority()
    }

    public init(decoding bytes: [UInt8]) throws {
        var reader = BinaryReader(bytes)
        try reader.readHeader(magic: Magic.publicParameters, version: Magic.version)
        let authority = try reader.readAuthority()
        guard let y = try? GT(bytes: Array(try reader.read("Y", count: 576))), !y.isOne else {
            throw KPABEError.invalidGroupElement(field: "Y")
        }
        try reader.finish()
        self.init(authority: authority, y: y)
    }
}

extension MasterSecret {
    public func encoded() -> [UInt8] {
        var writer = BinaryWriter()
        writer.write(raw: Magic.masterSecret)
        writer.write(Magic.version)
        writer.write(raw: authority.bytes)
        writer.write(raw: alpha.bytes)
        return writer.bytes
    }

    public init(decoding bytes: [UInt8]) throws {
        var reader = BinaryReader(bytes)
        try reader.readHeader(magic: Magic.masterSecret, version: Magic.version)
        let authority = try reader.readAuthority()
        guard let alpha = Fr(bytes: try reader.read("alpha", count: 32)), !alpha.isZero else {
            throw BinaryDecodingError.invalidValue(field: "alpha", reason: "not in 1..<r")
        }
        try reader.finish()
        self.init(authority: authority, alpha: alpha)
    }
}

extension DecryptionKey {
    public func encoded() -> [UInt8] {
        var writer = BinaryWriter()
        writer.write(raw: Magic.decryptionKey)
        writer.write(Magic.version)
        writer.write(raw: authority.bytes)
        var next = 0
        func write(_ node: Policy) {
            switch node {
            case .attribute(let name):
                writer.write(UInt8(0))
                writer.write(shortLengthPrefixed: Array(name.utf8))
                writer.write(raw: components[next].d1.compressedBytes)
                writer.write(raw: components[next].d2.compressedBytes)
                next += 1
            case .threshold(let k, let children):
                writer.write(UInt8(1))
                writer.write(UInt16(k))
                writer.write(UInt16(children.count))
                children.forEach(write)
            }
        }
        write(policy)
        return writer.bytes
    }

    public init(decoding bytes: [UInt8]) throws {
        var reader = BinaryReader(bytes)
        try reader.readHeader(magic: Magic.decryptionKey, version: Magic.version)
        let authority = try reader.readAuthority()
        var components: [Component] = []
        func read(depth: Int) throws -> Policy {
            guard depth <= Policy.maximumDepth else {
                throw BinaryDecodingError.invalidValue(field: "policy", reason: "nested deeper than \(Policy.maximumDepth)")
            }
            switch try reader.readUInt8("node type") {
            case 0:
                let name = try reader.readAttribute()
                guard components.count < Policy.maximumLeaves else {
                    throw BinaryDecodingError.invalidValue(field: "policy", reason: "too many leaves")
                }
                components.append(Component(d1: try reader.readG1("D"), d2: try reader.readG2("d")))
                return .attribute(name)
            case 1:
                let k = Int(try reader.readUInt16("threshold"))
                let n = Int(try reader.readUInt16("children"))
                guard n >= 1, n <= Policy.maximumChildren, k >= 1, k <= n else {
                    throw BinaryDecodingError.invalidValue(field: "threshold", reason: "\(k) of \(n)")
                }
                return .threshold(k, try (0..<n).map { _ in try read(depth: depth + 1) })
            case let other:
                throw BinaryDecodingError.invalidValue(field: "node type", reason: "\(other)")
            }
        }
        let policy = try read(depth: 1)
        try reader.finish()
        try policy.validate()
        self.init(authority: authority, policy: policy, components: components)
    }
}

extension Ciphertext {
    /// Everything but the sealed payload: the AEAD's associated data, so no part of the KEM half can be
    /// swapped without the payload failing.
    func header() -> [UInt8] {
        var writer = BinaryWriter()
        writer.write(raw: Magic.ciphertext)
        writer.write(Magic.version)
        writer.write(raw: authority.bytes)
        writer.write(UInt16(attributes.count))
        for (name, component) in zip(attributes, attributeComponents) {
            writer.write(shortLengthPrefixed: Array(name.utf8))
            writer.write(raw: component.compressedBytes)
        }
        writer.write(raw: c0.compressedBytes)
        return writer.bytes
    }

    public func encoded() -> [UInt8] {
        var writer = BinaryWriter()
        writer.write(raw: header())
        writer.write(lengthPrefixed: sealedPayload)
        return writer.bytes
    }

    public init(decoding bytes: [UInt8]) throws {
        var reader = BinaryReader(bytes)
        try reader.readHeader(magic: Magic.ciphertext, version: Magic.version)
        let authority = try reader.readAuthority()
        let count = Int(try reader.readUInt16("attribute count"))
        guard count >= 1 else { throw KPABEError.noAttributes }
        var attributes: [String] = [], components: [G1Affine] = []
        for _ in 0..<count {
            let name = try reader.readAttribute()
            if let last = attributes.last, !last.utf8.lexicographicallyPrecedes(name.utf8) {
                throw BinaryDecodingError.invalidValue(field: "attributes", reason: "not strictly ascending")
            }
            attributes.append(name)
            components.append(try reader.readG1("C_x"))
        }
        let c0 = try reader.readG2("C0")
        let sealed = try reader.readLengthPrefixed("payload", maxLength: Magic.maximumPayload)
        guard sealed.count >= 16 else { throw BinaryDecodingError.truncated(field: "payload") }
        try reader.finish()
        self.init(authority: authority, attributes: attributes, c0: c0, attributeComponents: components,
                  sealedPayload: sealed)
    }
}
