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

    /// The base-|x| digits of k as a GLV split k = k0 + k1·x², with x²·P = −φ(P) on G1.
    static func glvSplit(_ digits: (UInt64, UInt64, UInt64, UInt64)) -> EndomorphismSplit {
        let z = UInt128(ScalarDecomposition.z)
        // Each half is below z² < 2^128, so the wrapping operators never wrap.
        let k0 = UInt128(digits.0) &+ UInt128(digits.1) &* z
        let k1 = UInt128(digits.2) &+ UInt128(digits.3) &* z
        return EndomorphismSplit(digits: [k0, k1], bound: z &* z, ratio: z &* z)
    }

    /// Variable-time multiplication for public scalars: GLV split, then interleaved width-5 wNAF over
    /// the two ~128-bit halves.
    public func mulVartime(_ k: Fr) -> G1Projective {
        ScalarMultiplication.straus(self, G1Projective.glvSplit(ScalarDecomposition.baseZ(k)), window: 5) { -$0.phi() }
    }

    /// Multi-scalar multiplication Σ kᵢ·Pᵢ, variable time (public scalars only): below
    /// `ScalarMultiplication.strausLimit` points, GLV splits with one shared run of doublings
    /// (Straus); above, Pippenger's buckets.
    public static func multiScalarMul(_ points: [G1Projective], _ scalars: [Fr]) -> G1Projective {
        precondition(points.count == scalars.count, "points and scalars differ in number")
        guard points.count < ScalarMultiplication.strausLimit else { return ScalarMultiplication.pippenger(points, scalars) }
        return ScalarMultiplication.straus(zip(points, scalars).map { ($0, glvSplit(ScalarDecomposition.baseZ($1))) }, window: 5) { -$0.phi() }
    }

    /// Constant-time multiplication by a secret scalar: constant-time GLV split (digits from a
    /// branch-free division), then signed 4-bit regular windows over the two 128-bit halves.
    public func mulConstantTime(_ k: Fr) -> G1Projective {
        ScalarMultiplication.regularWindowConstantTime(self, k, split: { G1Projective.glvSplit(ScalarDecomposition.baseZConstantTime($0)) },
                                                       endomorphism: { -$0.phi() })
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
