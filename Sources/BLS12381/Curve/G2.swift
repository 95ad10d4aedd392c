/// G2: the order-r subgroup of the sextic M-twist E'(F_p²): y² = x³ + 4(u + 1).
extension G2Projective {
    /// b' = 4(u + 1)
    static let curveB = Fp2(c0: Fp(4), c1: Fp(4))

    /// The standard generator (ZCash / IETF).
    public static let generator = G2Projective(
        x: Fp2(c0: Fp(bytes: Hex.decode("024aa2b2f08f0a91260805272dc51051c6e47ad4fa403b02b4510b647ae3d1770bac0326a805bbefd48056c8c121bdb8")!)!,
               c1: Fp(bytes: Hex.decode("13e02b6052719f607dacd3a088274f65596bd0d09920b61ab5da61bbdc7f5049334cf11213945d57e5ac7d055d042b7e")!)!),
        y: Fp2(c0: Fp(bytes: Hex.decode("0ce5d527727d6e118cc9cdc6da2e351aadfd9baa8cbdd3a76d429a695160d12c923ac9cc3baca289e193548608b82801")!)!,
               c1: Fp(bytes: Hex.decode("0606c4a02ea734cc32acd2b02bc28b99cb3e287e85a763af267492ab572e99ab3f370d275cec1da1aaa9075ff05f79be")!)!),
        z: .one)

    /// ψ = untwist ∘ Frobenius ∘ twist; acts on G2 as multiplication by p ≡ x (mod r).
    @inline(always) func psi() -> G2Projective {
        G2Projective(x: x.conjugate() * FrobeniusConstants.psiX, y: y.conjugate() * FrobeniusConstants.psiY, z: z.conjugate())
    }

    /// ψ² = (−ψ)²: (x, y) ↦ (ω·x, −y) with ω = N(ψ's x constant) a cube root of unity in F_p (ψ's x
    /// constant is purely imaginary, and its y constant has norm −1, which the tests check): two F_p
    /// products against ψ's conjugations and two F_p² products.
    @inline(always) func psiSquared() -> G2Projective {
        G2Projective(x: x.mulByFp(G2Projective.psiSquaredX), y: -y, z: z)
    }

    static let psiSquaredX = FrobeniusConstants.psiX.norm()

    /// [|x|]·Q by double-and-add on the public constant 0xd201000000010000.
    func mulByZ() -> G2Projective {
        var acc = self
        for i in stride(from: 62, through: 0, by: -1) {
            acc = acc.doubled()
            if (ScalarDecomposition.z >> UInt64(i)) & 1 == 1 { acc = acc + self }
        }
        return acc
    }

    /// The base-|x| digits of k as a 4-dimensional GLS split: |x|ⁱ·Q = (−ψ)ⁱ(Q) on G2.
    static func glsSplit(_ digits: (UInt64, UInt64, UInt64, UInt64)) -> EndomorphismSplit {
        EndomorphismSplit(digits: [UInt128(digits.0), UInt128(digits.1), UInt128(digits.2), UInt128(digits.3)], bound: UInt128(ScalarDecomposition.z),
                          ratio: UInt128(ScalarDecomposition.z))
    }

    /// Variable-time multiplication for public scalars: 4-dimensional GLS split k = Σ dᵢ·|x|ⁱ, then
    /// interleaved width-5 wNAF over four 64-bit digits.
    public func mulVartime(_ k: Fr) -> G2Projective {
        ScalarMultiplication.straus(self, G2Projective.glsSplit(ScalarDecomposition.baseZ(k)), window: 5,
                                    endomorphism: { -$0.psi() }, endomorphismSquared: { $0.psiSquared() })
    }

    /// Multi-scalar multiplication Σ kᵢ·Pᵢ, variable time (public scalars only): GLS splits with one
    /// shared run of doublings below `ScalarMultiplication.strausLimit` points, Pippenger above.
    public static func multiScalarMul(_ points: [G2Projective], _ scalars: [Fr]) -> G2Projective {
        precondition(points.count == scalars.count, "points and scalars differ in number")
        guard points.count < ScalarMultiplication.strausLimit else { return ScalarMultiplication.pippenger(points, scalars) }
        return ScalarMultiplication.straus(zip(points, scalars).map { ($0, glsSplit(ScalarDecomposition.baseZ($1))) }, window: 5,
                                           endomorphism: { -$0.psi() }, endomorphismSquared: { $0.psiSquared() })
    }

    /// Constant-time multiplication by a secret scalar: constant-time 4-dimensional GLS split (digits from
    /// a branch-free division by |x|), then signed 4-bit regular windows over the four digits.
    public func mulConstantTime(_ k: Fr) -> G2Projective {
        ScalarMultiplication.regularWindowConstantTime(self, k, split: { G2Projective.glsSplit(ScalarDecomposition.baseZConstantTime($0)) },
                                                       endomorphism: { -$0.psi() }, endomorphismSquared: { $0.psiSquared() })
    }

    /// Membership in the order-r subgroup: ψ(Q) == [x]Q (Scott 2021).
    public var isInSubgroup: Bool {
        if isIdentity { return true }
        return psi() == -mulByZ()
    }
}

extension G2Affine {
    public var isInSubgroup: Bool { G2Projective(self).isInSubgroup }
}
