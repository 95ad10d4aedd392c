/// RFC 9380 hashing to G1, suite BLS12381G1_XMD:SHA-256_SSWU_RO_: hash_to_field (count 2, L = 64),
/// simplified SWU onto the 11-isogenous curve E' (A', B', Z = 11), the 11-isogeny to E, point addition
/// and cofactor clearing by h_eff = 0xd201000000010001.
enum Isogeny11 {
    /// Simplified SWU map (RFC 9380 §6.6.2) onto E': y² = x³ + A'x + B'. Returns affine (x, y) on E'.
    static func sswu(_ u: Fp) -> (Fp, Fp) {
        let a = aPrime, b = bPrime
        let u2 = u.squared()
        let zu2 = z * u2
        let tv = zu2.squared() + zu2
        let x1: Fp
        if tv.isZero {
            x1 = b * (z * a).inverse()
        } else {
            x1 = (-b) * a.inverse() * (Fp.one + tv.inverse())
        }
        let gx1 = x1.squared() * x1 + a * x1 + b
        let x2 = zu2 * x1
        let gx2 = x2.squared() * x2 + a * x2 + b
        var x: Fp, y: Fp
        if let s = gx1.sqrt() {
            x = x1; y = s
        } else {
            x = x2; y = gx2.sqrt()!  // gx2 = Z³u⁶·gx1 is a square when gx1 is not
        }
        if u.sgn0 != y.sgn0 { y = -y }
        return (x, y)
    }

    @inline(__always) static func horner(_ coeffs: [Fp], _ x: Fp, monic: Bool) -> Fp {
        var acc = monic ? Fp.one : coeffs[coeffs.count - 1]
        let start = monic ? coeffs.count - 1 : coeffs.count - 2
        for i in stride(from: start, through: 0, by: -1) { acc = acc * x + coeffs[i] }
        return acc
    }

    /// The 11-isogeny E' → E (RFC 9380 Appendix E.2), returned in projective form without inversion.
    static func map(_ x: Fp, _ y: Fp) -> G1Projective {
        let xn = horner(xNum, x, monic: false)
        let xd = horner(xDen, x, monic: true)
        let yn = horner(yNum, x, monic: false)
        let yd = horner(yDen, x, monic: true)
        // (xn/xd, y·yn/yd) = (xn·yd : y·yn·xd : xd·yd)
        return G1Projective(x: xn * yd, y: y * yn * xd, z: xd * yd)
    }
}

extension G1Projective {
    /// RFC 9380 hash_to_field for F_p with expand_message_xmd(SHA-256), L = 64.
    static func hashToField(_ message: [UInt8], dst: [UInt8], count: Int) -> [Fp] {
        let bytes = try! expandMessageXMD(message, dst: dst, outputLength: 64 * count)
        return (0..<count).map { Fp.fromWideBytes(Array(bytes[(64 * $0)..<(64 * ($0 + 1))])) }
    }

    /// hash_to_curve for BLS12381G1_XMD:SHA-256_SSWU_RO_ (RFC 9380 §8.8.1).
    public static func hash<M: Sequence>(toCurve message: M, domainSeparationTag dst: [UInt8]) -> G1Projective where M.Element == UInt8 {
        let u = hashToField(Array(message), dst: dst, count: 2)
        let (x0, y0) = Isogeny11.sswu(u[0])
        let (x1, y1) = Isogeny11.sswu(u[1])
        let q = Isogeny11.map(x0, y0) + Isogeny11.map(x1, y1)
        return q.clearCofactor()
    }

    /// encode_to_curve (nonuniform, BLS12381G1_XMD:SHA-256_SSWU_NU_).
    public static func encode<M: Sequence>(toCurve message: M, domainSeparationTag dst: [UInt8]) -> G1Projective where M.Element == UInt8 {
        let u = hashToField(Array(message), dst: dst, count: 1)
        let (x0, y0) = Isogeny11.sswu(u[0])
        return Isogeny11.map(x0, y0).clearCofactor()
    }
}
