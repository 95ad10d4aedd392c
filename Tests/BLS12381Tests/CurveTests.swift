import Testing
import TestSupport
@testable import BLS12381

@Suite("G1 and G2 group laws and scalar multiplication")
struct CurveTests {
    static let rMinusOne = -Fr.one

    @Test("generators are on the curve, in the subgroup, and of order r")
    func generators() {
        let g1 = G1Projective.generator, g2 = G2Projective.generator
        #expect(g1.isOnCurve && g1.isInSubgroup)
        #expect(g2.isOnCurve && g2.isInSubgroup)
        #expect((g1.mulVartime(Self.rMinusOne) + g1).isIdentity)
        #expect((g2.mulVartime(Self.rMinusOne) + g2).isIdentity)
        #expect((g1.mulConstantTime(Self.rMinusOne) + g1).isIdentity)
        #expect((g2.mulConstantTime(Self.rMinusOne) + g2).isIdentity)
    }

    @Test("G1: add/double/mixed add/identity are consistent", arguments: 0..<4)
    func g1Laws(seed: Int) {
        var g = SplitMix64(seed: UInt64(seed) &+ 700)
        let p = G1Projective.generator.mulVartime(Fr.random(using: &g))
        let q = G1Projective.generator.mulVartime(Fr.random(using: &g))
        #expect(p + p == p.doubled())
        #expect(p + q == q + p)
        #expect(p + q.toAffine() == p + q)
        #expect(p + G1Affine.identity == p)
        #expect(G1Projective.identity + q.toAffine() == q)
        #expect(p + G1Projective.identity == p)
        #expect((p - p).isIdentity)
        #expect(G1Projective.identity.doubled().isIdentity)
        #expect((p + q).isOnCurve)
        #expect(G1Projective.batchNormalize([p, .identity, q]) == [p.toAffine(), .identity, q.toAffine()])
    }

    @Test("G2: add/double/mixed add/identity are consistent", arguments: 0..<3)
    func g2Laws(seed: Int) {
        var g = SplitMix64(seed: UInt64(seed) &+ 800)
        let p = G2Projective.generator.mulVartime(Fr.random(using: &g))
        let q = G2Projective.generator.mulVartime(Fr.random(using: &g))
        #expect(p + p == p.doubled())
        #expect(p + q == q + p)
        #expect(p + q.toAffine() == p + q)
        #expect(p + G2Affine.identity == p)
        #expect((p - p).isIdentity)
        #expect((p + q).isOnCurve)
        #expect(p.psi() == p.mulVartime(Fr.zero - Fr(0xd201000000010000)))   // ψ = [x] on G2
        #expect(p.psiSquared() == p.psi().psi())
        #expect(FrobeniusConstants.psiY.norm() == -Fp.one)   // why ψ² negates y
    }

    @Test("regular recoding: the fewest windows whose top digit stays at most 15")
    func regularWindowCount() {
        let z = UInt128(ScalarDecomposition.z)
        #expect(EndomorphismSplit.regularWindows(magnitudeBelow: z) == 15)          // G2: top ≤ 13
        #expect(EndomorphismSplit.regularWindows(magnitudeBelow: z * z) == 31)      // G1: top ≤ 11
        #expect(EndomorphismSplit.regularWindows(magnitudeBelow: 1 << 64) == 15)    // (2⁶⁴ − 1) >> 60 = 15
        #expect(EndomorphismSplit.regularWindows(magnitudeBelow: (1 << 64) + 1) == 16)  // 2⁶⁴ | 1 >> 60 = 16
        #expect(EndomorphismSplit.regularWindows(magnitudeBelow: 1 << 60) == 14)
        #expect(EndomorphismSplit.regularWindows(magnitudeBelow: 2) == 1)
    }

    @Test("constant-time and variable-time multiplication agree", arguments: 0..<6)
    func ctMatchesVartime(seed: Int) {
        var g = SplitMix64(seed: UInt64(seed) &+ 900)
        let k = Fr.random(using: &g)
        let p1 = G1Projective.generator.mulVartime(Fr.random(using: &g))
        let p2 = G2Projective.generator.mulVartime(Fr.random(using: &g))
        #expect(p1.mulConstantTime(k) == p1.mulVartime(k))
        #expect(p2.mulConstantTime(k) == p2.mulVartime(k))
        #expect(p1.mulConstantTimeGeneric(k) == p1.mulVartime(k))
        #expect(p2.mulConstantTimeGeneric(k) == p2.mulVartime(k))
        // (a + b)P = aP + bP
        let j = Fr.random(using: &g)
        #expect(p1.mulVartime(k + j) == p1.mulVartime(k) + p1.mulVartime(j))
        #expect(p2.mulConstantTime(k * j) == p2.mulVartime(k).mulVartime(j))
    }

    @Test("multiplication by edge-case scalars agrees across all algorithms", arguments: edgeCaseScalars)
    func edgeScalarMultiplication(k: Fr) {
        let p1 = G1Projective.generator.mulVartime(Fr(12345)), p2 = G2Projective.generator.mulVartime(Fr(6789))
        let expected1 = p1.mulConstantTimeGeneric(k), expected2 = p2.mulConstantTimeGeneric(k)
        #expect(p1.mulConstantTime(k) == expected1)
        #expect(p1.mulVartime(k) == expected1)
        #expect(p2.mulConstantTime(k) == expected2)
        #expect(p2.mulVartime(k) == expected2)
        #expect(G1Projective.identity.mulConstantTime(k).isIdentity)
        #expect(G2Projective.identity.mulConstantTime(k).isIdentity)
    }

    @Test("constant-time base-|x| digits equal the variable-time ones and recompose k", arguments: 0..<64)
    func digits(seed: Int) {
        var g = SplitMix64(seed: UInt64(seed) &+ 950)
        let z = Fr(ScalarDecomposition.z)
        let k = switch seed {
        case 0: -Fr.one
        case 1: Fr.zero
        case 2...18: edgeCaseScalars[seed - 2]   // digits at 0, at |x| − 1, at |x| − 2
        default: Fr.random(using: &g)
        }
        let a = ScalarDecomposition.baseZConstantTime(k), b = ScalarDecomposition.baseZ(k)
        #expect(a == b)
        #expect(Fr(a.0) + z * (Fr(a.1) + z * (Fr(a.2) + z * Fr(a.3))) == k)
    }

    @Test("branch-free 128-by-64-bit division by |x| equals the hardware's")
    func divisionByZ() {
        let z = ScalarDecomposition.z
        var g = SplitMix64(seed: 990)
        var cases: [(UInt64, UInt64)] = [(0, 0), (0, z - 1), (0, z), (0, .max), (z - 1, .max), (z - 1, 0), (1, 0)]
        for _ in 0..<10_000 { cases.append((g.next() % z, g.next())) }
        for (high, low) in cases {
            let expected = z.dividingFullWidth((high, low))
            let actual = ScalarDecomposition.divide2by1(high, low)
            #expect(actual.quotient == expected.quotient && actual.remainder == expected.remainder, "\(high) \(low)")
        }
    }

    @Test("small and edge scalars")
    func edgeScalars() {
        let g1 = G1Projective.generator, g2 = G2Projective.generator
        #expect(g1.mulConstantTime(.zero).isIdentity && g1.mulVartime(.zero).isIdentity)
        #expect(g2.mulConstantTime(.zero).isIdentity && g2.mulVartime(.zero).isIdentity)
        #expect(g1.mulVartime(.one) == g1 && g2.mulVartime(.one) == g2)
        #expect(g1.mulVartime(Fr(3)) == g1 + g1 + g1)
        #expect(G1Projective.identity.mulConstantTime(Fr(7)).isIdentity)
        #expect(G2Projective.identity.mulVartime(Fr(7)).isIdentity)
        #expect(g1.mulVartime(Self.rMinusOne) == -g1)
        #expect(g2.mulVartime(Self.rMinusOne) == -g2)
        let z = Fr(0xd201000000010000)
        #expect(g1.mulVartime(z) == g1.mulByZ())
        #expect(g2.mulVartime(z) == g2.mulByZ())
    }

    @Test("multi-scalar multiplication equals the naive sum (Straus below 32 points, Pippenger above)", arguments: [0, 1, 3, 5, 17, 31, 32, 40])
    func msm(n: Int) {
        var g = SplitMix64(seed: UInt64(n) &+ 1000)
        var p1 = [G1Projective](), p2 = [G2Projective](), ks = [Fr]()
        for i in 0..<n {
            p1.append(i == 2 ? .identity : G1Projective.generator.mulVartime(Fr.random(using: &g)))
            p2.append(G2Projective.generator.mulVartime(Fr.random(using: &g)))
            ks.append(i == 1 ? .zero : Fr.random(using: &g))
        }
        var n1 = G1Projective.identity, n2 = G2Projective.identity
        for i in 0..<n { n1 = n1 + p1[i].mulVartime(ks[i]); n2 = n2 + p2[i].mulVartime(ks[i]) }
        #expect(G1Projective.multiScalarMul(p1, ks) == n1)
        #expect(G2Projective.multiScalarMul(p2, ks) == n2)
    }

    @Test("hash outputs and cofactor clearing land in G1")
    func cofactor() {
        var g = SplitMix64(seed: 1100)
        for _ in 0..<3 {
            // a point of E(F_p) outside G1, then cleared
            let p = NonSubgroupPoints.g1(start: g.next() % 1000 + 1)
            #expect(p.isOnCurve && !p.isInSubgroup)
            let c = G1Projective(p).clearCofactor()
            #expect(c.isInSubgroup && !c.isIdentity)
        }
    }
}

/// Points on the curves but (almost surely, and checked) outside the prime-order subgroups.
enum NonSubgroupPoints {
    static func g1(start: UInt64 = 1) -> G1Affine {
        var x = start
        while true {
            let fx = Fp(x)
            if let y = (fx.squared() * fx + Fp(4)).sqrt() {
                let p = G1Affine(x: fx, y: y)
                if !p.isInSubgroup { return p }
            }
            x += 1
        }
    }

    static func g2(start: UInt64 = 1) -> G2Affine {
        var x = start
        while true {
            let fx = Fp2(c0: Fp(x), c1: .one)
            if let y = (fx.squared() * fx + Fp2(c0: Fp(4), c1: Fp(4))).sqrt() {
                let p = G2Affine(x: fx, y: y)
                if !p.isInSubgroup { return p }
            }
            x += 1
        }
    }
}

/// Scalars whose base-|x| digits are even, zero, one or maximal: the regular signed-window recoding
/// makes every digit odd and corrects even ones at the end, so these are its edge cases.
let edgeCaseScalars: [Fr] = {
    let z = Fr(ScalarDecomposition.z)
    return [Fr.zero, Fr.one, Fr(2), -Fr.one, -Fr(2), z, z - Fr.one, z + Fr.one, z * z, z * z * z,
            z * z * z - Fr.one, Fr(0xffff_ffff_ffff_fffe), z * z + Fr(2), -(z * z * z),
            // The largest base-|x| digits a scalar below r has (|x| − 1, |x| − 1, |x| − 1, |x| − 2): the top
            // windows of the regular recoding at their maximum. Then the same less one in every digit
            // (an even scalar: the multiplication runs on r − k), and less one in all but the first
            // (odd, with every other digit even: each is made odd at its neighbour's expense, which turns
            // negative).
            z * z * z * z - z * z * z - Fr.one, z * z * z * z - z * z * z - Fr.one - (Fr.one + z + z * z + z * z * z),
            z * z * z * z - z * z * z - Fr.one - (z + z * z + z * z * z)]
}()
