/// G1: the order-r subgroup of E(F_p): y² = x³ + 4.
extension G1Projective {
    /// b = 4
    static let curveB = Fp(4)

    /// The standard generator (ZCash / IETF).
    public static let generator = G1Projective(
        x: Fp(bytes: Hex.decode("17f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb")!)!,
        y: Fp(bytes: Hex.decode("08b3f481e3aaa0f1a09e30ed741d8ae4fcf5e095d5d00af600db18cb2c04b3edd03cc744a2888ae40caa232946c5e7e1")!)!,
        z: .one)

    /// φ(x, y) = (βx, y), which acts on G1 as multiplication by −x² (mod r).
    @inline(always) func phi() -> G1Projective { G1Projective(x: x * FrobeniusConstants.beta, y: y, z: z) }

    /// [|x|]·P by double-and-add on the public constant 0xd201000000010000.
    func mulByZ() -> G1Projective {
        var acc = self
        for i in stride(from: 62, through: 0, by: -1) {
            acc = acc.doubled()
            if (ScalarDecomposition.z >> UInt64(i)) & 1 == 1 { acc = acc + self }
        }
        return acc
    }

    /// Variable-time multiplication for public scalars: GLV split k = k0 + k1·x² with φ, then
    /// interleaved width-5 wNAF over the two ~128-bit halves.
    public func mulVartime(_ k: Fr) -> G1Projective {
        let (d0, d1, d2, d3) = ScalarDecomposition.baseZ(k)
        let z = UInt128(ScalarDecomposition.z)
        let k0 = UInt128(d0) + UInt128(d1) * z
        let k1 = UInt128(d2) + UInt128(d3) * z
        // x²·P = z²·P = −φ(P)
        let q = -phi()
        return G1Projective.straus([self, q], [k0, k1], window: 5)
    }

    /// Constant-time multiplication by a secret scalar: constant-time GLV split k = k0 + k1·x² (digits
    /// from a branch-free division), then a 2-base 4-bit fixed window over 128 bits with full-table scans.
    public func mulConstantTime(_ k: Fr) -> G1Projective {
        let (d0, d1, d2, d3) = ScalarDecomposition.baseZConstantTime(k)
        let z = UInt128(ScalarDecomposition.z)
        let k0 = UInt128(d0) &+ UInt128(d1) &* z
        let k1 = UInt128(d2) &+ UInt128(d3) &* z
        return G1Projective.fixedWindowConstantTime([self, -phi()], [k0, k1], bits: 128)
    }

    /// Membership in the order-r subgroup: φ(P) == −[x²]P (Scott's endomorphism test).
    public var isInSubgroup: Bool {
        if isIdentity { return true }
        return phi() == -(mulByZ().mulByZ())
    }

    /// Cofactor clearing by h_eff = 1 − x = 0xd201000000010001 (RFC 9380, BLS12-381 G1).
    public func clearCofactor() -> G1Projective { mulByZ() + self }
}

extension G1Affine {
    public var isInSubgroup: Bool { G1Projective(self).isInSubgroup }
}
