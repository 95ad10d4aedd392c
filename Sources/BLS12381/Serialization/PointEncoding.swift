/// ZCash-format point encodings (as used by IETF BLS signatures, zkcrypto, blst, py_ecc).
///
/// The three most significant bits of the first byte are flags: 0x80 compression, 0x40 infinity,
/// 0x20 sign (set when y is the lexicographically larger of ±y; only in compressed form). G2 x and y
/// are written c1 ‖ c0. Decoding validates flags, canonical coordinates, the curve equation, subgroup
/// membership and accepts exactly one encoding of the identity.

extension Fp {
    /// y > (p − 1)/2 on canonical values.
    var isLexicographicallyLargest: Bool {
        let c = canonicalLimbs
        // (p−1)/2 − y borrows iff y > (p−1)/2
        var br: UInt64 = 0
        (_, br) = sbb(0xdcff7fffffffd555, c.0, 0)
        (_, br) = sbb(0x0f55ffff58a9ffff, c.1, br)
        (_, br) = sbb(0xb39869507b587b12, c.2, br)
        (_, br) = sbb(0xb23ba5c279c2895f, c.3, br)
        (_, br) = sbb(0x258dd3db21a5d66b, c.4, br)
        (_, br) = sbb(0x0d0088f51cbff34d, c.5, br)
        return br == 1
    }
}

extension Fp2 {
    /// Lexicographic order on (c1, c0): c1 decides unless it is zero.
    var isLexicographicallyLargest: Bool {
        c1.isZero ? c0.isLexicographicallyLargest : c1.isLexicographicallyLargest
    }
}

enum Flags {
    static let compressed: UInt8 = 0x80
    static let infinity: UInt8 = 0x40
    static let sign: UInt8 = 0x20
    static let all: UInt8 = 0xe0

    /// Checks an infinity encoding: no sign, every other bit zero.
    static func checkInfinity(_ bytes: [UInt8]) throws(BLS12381Error) {
        if bytes[0] & sign != 0 { throw .invalidFlags }
        if bytes[0] & 0x1f != 0 || bytes[1...].contains(where: { $0 != 0 }) { throw .nonCanonicalInfinity }
    }

    static func fp(_ b: ArraySlice<UInt8>) throws(BLS12381Error) -> Fp {
        guard let f = Fp(bytes: b) else { throw .coordinateNotCanonical }
        return f
    }
}

extension G1Affine {
    /// 48-byte compressed encoding.
    public var compressedBytes: [UInt8] {
        if infinity { var o = [UInt8](repeating: 0, count: 48); o[0] = Flags.compressed | Flags.infinity; return o }
        var o = x.bytes
        o[0] |= Flags.compressed
        if y.isLexicographicallyLargest { o[0] |= Flags.sign }
        return o
    }

    /// 96-byte uncompressed encoding x ‖ y.
    public var uncompressedBytes: [UInt8] {
        if infinity { var o = [UInt8](repeating: 0, count: 96); o[0] = Flags.infinity; return o }
        return x.bytes + y.bytes
    }

    /// Decodes a 48-byte compressed or 96-byte uncompressed point with full validation.
    public init(bytes: [UInt8]) throws(BLS12381Error) {
        switch bytes.count {
        case 48: try self.init(compressed: bytes)
        case 96: try self.init(uncompressed: bytes)
        default: throw .invalidLength
        }
    }

    public init(compressed bytes: [UInt8]) throws(BLS12381Error) {
        try self.init(compressedUnchecked: bytes)
        guard isInSubgroup else { throw .notInSubgroup }
    }

    /// Decodes and checks everything except subgroup membership.
    init(compressedUnchecked bytes: [UInt8]) throws(BLS12381Error) {
        guard bytes.count == 48 else { throw .invalidLength }
        let flags = bytes[0]
        guard flags & Flags.compressed != 0 else { throw .invalidFlags }
        if flags & Flags.infinity != 0 {
            try Flags.checkInfinity(bytes)
            self = .identity
            return
        }
        var xb = bytes
        xb[0] &= 0x1f
        let x = try Flags.fp(xb[...])
        guard let y0 = (x.squared() * x + G1Projective.curveB).sqrt() else { throw .notOnCurve }
        let wantLarge = flags & Flags.sign != 0
        let y = y0.isLexicographicallyLargest == wantLarge ? y0 : -y0
        self.init(x: x, y: y)
    }

    public init(uncompressed bytes: [UInt8]) throws(BLS12381Error) {
        guard bytes.count == 96 else { throw .invalidLength }
        let flags = bytes[0]
        guard flags & Flags.compressed == 0, flags & Flags.sign == 0 else { throw .invalidFlags }
        if flags & Flags.infinity != 0 {
            try Flags.checkInfinity(bytes)
            self = .identity
            return
        }
        var b = bytes
        b[0] &= 0x1f
        let x = try Flags.fp(b[0..<48])
        let y = try Flags.fp(b[48..<96])
        let p = G1Affine(x: x, y: y)
        guard p.isOnCurve else { throw .notOnCurve }
        guard p.isInSubgroup else { throw .notInSubgroup }
        self = p
    }
}

extension G2Affine {
    /// 96-byte compressed encoding (x.c1 ‖ x.c0).
    public var compressedBytes: [UInt8] {
        if infinity { var o = [UInt8](repeating: 0, count: 96); o[0] = Flags.compressed | Flags.infinity; return o }
        var o = x.c1.bytes + x.c0.bytes
        o[0] |= Flags.compressed
        if y.isLexicographicallyLargest { o[0] |= Flags.sign }
        return o
    }

    /// 192-byte uncompressed encoding x.c1 ‖ x.c0 ‖ y.c1 ‖ y.c0.
    public var uncompressedBytes: [UInt8] {
        if infinity { var o = [UInt8](repeating: 0, count: 192); o[0] = Flags.infinity; return o }
        return x.c1.bytes + x.c0.bytes + y.c1.bytes + y.c0.bytes
    }

    public init(bytes: [UInt8]) throws(BLS12381Error) {
        switch bytes.count {
        case 96: try self.init(compressed: bytes)
        case 192: try self.init(uncompressed: bytes)
        default: throw .invalidLength
        }
    }

    public init(compressed bytes: [UInt8]) throws(BLS12381Error) {
        try self.init(compressedUnchecked: bytes)
        guard isInSubgroup else { throw .notInSubgroup }
    }

    init(compressedUnchecked bytes: [UInt8]) throws(BLS12381Error) {
        guard bytes.count == 96 else { throw .invalidLength }
        let flags = bytes[0]
        guard flags & Flags.compressed != 0 else { throw .invalidFlags }
        if flags & Flags.infinity != 0 {
            try Flags.checkInfinity(bytes)
            self = .identity
            return
        }
        var b = bytes
        b[0] &= 0x1f
        let x = Fp2(c0: try Flags.fp(b[48..<96]), c1: try Flags.fp(b[0..<48]))
        guard let y0 = (x.squared() * x + G2Projective.curveB).sqrt() else { throw .notOnCurve }
        let wantLarge = flags & Flags.sign != 0
        let y = y0.isLexicographicallyLargest == wantLarge ? y0 : -y0
        self.init(x: x, y: y)
    }

    public init(uncompressed bytes: [UInt8]) throws(BLS12381Error) {
        guard bytes.count == 192 else { throw .invalidLength }
        let flags = bytes[0]
        guard flags & Flags.compressed == 0, flags & Flags.sign == 0 else { throw .invalidFlags }
        if flags & Flags.infinity != 0 {
            try Flags.checkInfinity(bytes)
            self = .identity
            return
        }
        var b = bytes
        b[0] &= 0x1f
        let x = Fp2(c0: try Flags.fp(b[48..<96]), c1: try Flags.fp(b[0..<48]))
        let y = Fp2(c0: try Flags.fp(b[144..<192]), c1: try Flags.fp(b[96..<144]))
        let p = G2Affine(x: x, y: y)
        guard p.isOnCurve else { throw .notOnCurve }
        guard p.isInSubgroup else { throw .notInSubgroup }
        self = p
    }
}
