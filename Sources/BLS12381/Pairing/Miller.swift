/// Optimal-ate Miller loop for BLS12-381.
///
/// G2 points run in homogeneous projective coordinates on the M-twist; each step yields a line whose
/// value at P ∈ G1 is sparse in the tower (F_p² coefficients 0, 1 and 4: ℓ0 + ℓ1·v + ℓ4·v·w), derived from
/// untwisting (x', y') ↦ (x'/w², y'/w³) and multiplying the line by w³ and an F_p² factor, both of which
/// the final exponentiation removes. Multi-pairing shares one squaring of f per step across all pairs.
enum MillerLoop {
    /// Doubling step: T ← 2T, returns the tangent line coefficients (before evaluation at P).
    /// Formulas (Costello–Lange–Naehrig / Aranha et al. 2010), scaled by 4 to avoid halving:
    /// A = XY, B = Y², C = Z², E = 3b'C, F = 3E, G = B + F, H = 2YZ;
    /// X₃ = 2A(B − F), Y₃ = G² − 12E², Z₃ = 4BH; line = (E − B) + 3X²·x_P·v − H·y_P·vw.
    @inline(always)
    static func doublingStep(_ t: inout G2Projective) -> (Fp2, Fp2, Fp2) {
        let a = t.x * t.y
        let b = t.y.squared()
        let c = t.z.squared()
        let e = c.mulBy3b()
        let f = e + e + e
        let g = b + f
        let h = (t.y + t.z).squared() - b - c
        let xx = t.x.squared()
        let x3 = (a * (b - f)).doubled()
        let e2 = e.squared()
        let e12 = (e2 + e2 + e2).doubled().doubled()
        let y3 = g.squared() - e12
        let z3 = (b * h).doubled().doubled()
        t = G2Projective(x: x3, y: y3, z: z3)
        return (e - b, xx + xx + xx, -h)
    }

    /// Mixed addition step: T ← T + Q (Q affine), returns the chord line coefficients.
    /// θ = Y − y_Q·Z, λ = X − x_Q·Z; line = (θ·x_Q − λ·y_Q) − θ·x_P·v + λ·y_P·vw.
    @inline(always)
    static func additionStep(_ t: inout G2Projective, _ q: G2Affine) -> (Fp2, Fp2, Fp2) {
        let theta = t.y - q.y * t.z
        let lambda = t.x - q.x * t.z
        let c = theta.squared()
        let d = lambda.squared()
        let e = lambda * d
        let f = t.z * c
        let g = t.x * d
        let h = e + f - g.doubled()
        let x3 = lambda * h
        let y3 = theta * (g - h) - e * t.y
        let z3 = t.z * e
        t = G2Projective(x: x3, y: y3, z: z3)
        return (theta * q.x - lambda * q.y, -theta, lambda)
    }

    /// f ← f · ℓ(P) for a line (c0, cx, cy) meaning c0 + cx·x_P·v + cy·y_P·vw.
    @inline(always)
    static func applyLine(_ f: Fp12, _ l: (Fp2, Fp2, Fp2), _ p: G1Affine) -> Fp12 {
        f.mulBy014(l.0, l.1.mulByFp(p.x), l.2.mulByFp(p.y))
    }

    /// f ← f · ℓ(P) for a prepared line (cx, cy) meaning 1 + cx·x_P·v + cy·y_P·vw.
    @inline(always)
    static func applyPreparedLine(_ f: Fp12, _ l: (Fp2, Fp2), _ p: G1Affine) -> Fp12 {
        f.mulBy1_14(l.0.mulByFp(p.x), l.1.mulByFp(p.y))
    }

    /// Lines per loop: a doubling for each of the 63 bits below |x|'s top bit, an addition for each of
    /// the 5 set ones.
    static let stepCount = 68

    /// Product of the Miller functions f_{|x|,Qᵢ}(Pᵢ) over `pairs` and `prepared` pairs (whose lines
    /// were computed once). Identity inputs are skipped.
    ///
    /// Convention: the loop runs over |x| and the result is NOT conjugated for the sign of x. After the
    /// final exponentiation this gives exactly the value py_ecc returns (the shared vectors' GT values);
    /// a library that conjugates for x < 0 returns the inverse, and per the vector file mcl returns this
    /// value to the power −3. Any fixed power coprime to r is an equally valid bilinear pairing.
    static func run(_ pairs: [(G1Affine, G2Affine)], prepared: [(G1Affine, G2Prepared)] = []) -> Fp12 {
        let live = pairs.filter { !$0.0.infinity && !$0.1.infinity }
        let livePrepared = prepared.filter { !$0.0.infinity && !$0.1.isIdentity }
        if live.isEmpty && livePrepared.isEmpty { return .one }
        var ts = live.map { G2Projective($0.1) }
        var f = Fp12.one
        let z = ScalarDecomposition.z
        var first = true
        var step = 0
        for i in stride(from: 62, through: 0, by: -1) {
            if !first { f = f.squared() }
            first = false
            for j in 0..<live.count {
                let l = doublingStep(&ts[j])
                f = applyLine(f, l, live[j].0)
            }
            for (p, q) in livePrepared { f = applyPreparedLine(f, q.lines[step], p) }
            step += 1
            if (z >> UInt64(i)) & 1 == 1 {
                for j in 0..<live.count {
                    let l = additionStep(&ts[j], live[j].1)
                    f = applyLine(f, l, live[j].0)
                }
                for (p, q) in livePrepared { f = applyPreparedLine(f, q.lines[step], p) }
                step += 1
            }
        }
        return f
    }
}
