/// F_p² = F_p[u]/(u² + 1). Elements c0 + c1·u.
public struct Fp2: Sendable, Equatable {
    public var c0: Fp
    public var c1: Fp

    @inline(always) init(c0: Fp, c1: Fp) { self.c0 = c0; self.c1 = c1 }

    public static let zero = Fp2(c0: .zero, c1: .zero)
    public static let one = Fp2(c0: .one, c1: .zero)

    @inline(always) var isZero: Bool { (c0.isZeroBit & c1.isZeroBit) == 1 }
    @inline(always) var isZeroBit: UInt64 { c0.isZeroBit & c1.isZeroBit }
    @inline(always) func equalBit(_ o: Fp2) -> UInt64 { c0.equalBit(o.c0) & c1.equalBit(o.c1) }
    public static func == (a: Fp2, b: Fp2) -> Bool { a.equalBit(b) == 1 }

    @inline(always) static func select(_ a: Fp2, _ b: Fp2, _ choice: UInt64) -> Fp2 {
        Fp2(c0: Fp.select(a.c0, b.c0, choice), c1: Fp.select(a.c1, b.c1, choice))
    }

    @inline(always) static func + (a: Fp2, b: Fp2) -> Fp2 { Fp2(c0: a.c0 + b.c0, c1: a.c1 + b.c1) }
    @inline(always) static func - (a: Fp2, b: Fp2) -> Fp2 { Fp2(c0: a.c0 - b.c0, c1: a.c1 - b.c1) }
    @inline(always) static prefix func - (a: Fp2) -> Fp2 { Fp2(c0: -a.c0, c1: -a.c1) }
    @inline(always) static func += (a: inout Fp2, b: Fp2) { a = a + b }
    @inline(always) static func -= (a: inout Fp2, b: Fp2) { a = a - b }
    @inline(always) static func *= (a: inout Fp2, b: Fp2) { a = a * b }

    /// Karatsuba with lazy reduction: three double-width products, two Montgomery reductions
    /// (`Fp2Wide.product`; c0 = a0b0 − a1b1 may be negative, c1 = a0b1 + a1b0 never is).
    @inline(always)
    static func mulPortable(_ a: Fp2, _ b: Fp2) -> Fp2 {
        let wide = Fp2Wide.productPortable(a, b)
        return Fp2(c0: wide.c0.signedReduced(), c1: wide.c1.reduced())
    }

    @inline(always) static func * (a: Fp2, b: Fp2) -> Fp2 { mul(a, b) }

    @inline(always) func mulByFp(_ b: Fp) -> Fp2 { Fp2(c0: c0 * b, c1: c1 * b) }

    /// Complex squaring: (c0 + c1)(c0 − c1) + 2c0c1·u, two double-width products whose unreduced
    /// factors (below 2p) keep them below 2p² < p·2^384, so the sums skip their reductions.
    @inline(always)
    static func squarePortable(_ a: Fp2) -> Fp2 {
        let sum = Fp.addUnreduced(a.c0, a.c1)
        let twice = Fp.addUnreduced(a.c0, a.c0)
        return Fp2(c0: FpWide.product(sum, a.c0 - a.c1).reduced(), c1: FpWide.product(twice, a.c1).reduced())
    }

    @inline(always) func squared() -> Fp2 { Fp2.square(self) }

    @inline(always) func doubled() -> Fp2 { self + self }

    /// Multiplication by the non-residue ξ = u + 1.
    @inline(always) func mulByNonresidue() -> Fp2 { Fp2(c0: c0 - c1, c1: c0 + c1) }

    /// Conjugation = Frobenius x ↦ x^p.
    @inline(always) func conjugate() -> Fp2 { Fp2(c0: c0, c1: -c1) }

    @inline(always) func frobenius(_ power: Int) -> Fp2 { power & 1 == 1 ? conjugate() : self }

    /// Norm c0² + c1² in F_p.
    @inline(always) func norm() -> Fp { c0.squared() + c1.squared() }

    public func inverse() -> Fp2 {
        let t = norm().inverse()
        return Fp2(c0: c0 * t, c1: -(c1 * t))
    }

    /// RFC 9380 sgn0 for F_p².
    var sgn0: UInt64 {
        let s0 = c0.sgn0, z0 = c0.isZeroBit, s1 = c1.sgn0
        return s0 | (z0 & s1)
    }

    func pow(_ words: [UInt64]) -> Fp2 {
        var res = Fp2.one
        for w in words.reversed() {
            for i in stride(from: 63, through: 0, by: -1) {
                res = res.squared()
                if (w >> UInt64(i)) & 1 == 1 { res = res * self }
            }
        }
        return res
    }

    /// True when self is a square in F_p² (norm is a square in F_p).
    public var isSquare: Bool { norm().isSquare }

    /// Square root (Adj–Rodríguez-Henríquez, p ≡ 3 mod 4); nil when none exists.
    public func sqrt() -> Fp2? {
        if isZero { return .zero }
        // a1 = self^((p-3)/4)
        let a1 = pow([0xee7fbfffffffeaaa, 0x07aaffffac54ffff, 0xd9cc34a83dac3d89, 0xd91dd2e13ce144af, 0x92c6e9ed90d2eb35, 0x0680447a8e5ff9a6])
        let alpha = a1.squared() * self
        let x0 = a1 * self
        let minusOne = -Fp2.one
        var x: Fp2
        if alpha == minusOne {
            x = Fp2(c0: -x0.c1, c1: x0.c0)
        } else {
            // b = (1 + alpha)^((p-1)/2)
            let b = (Fp2.one + alpha).pow([0xdcff7fffffffd555, 0x0f55ffff58a9ffff, 0xb39869507b587b12, 0xb23ba5c279c2895f, 0x258dd3db21a5d66b, 0x0d0088f51cbff34d])
            x = b * x0
        }
        return x.squared() == self ? x : nil
    }

    /// Multiplication by 3·b' = 12(1 + u) (G2 curve constant, b' = 4(u+1)).
    @inline(always) func mulBy3b() -> Fp2 {
        let t = mulByNonresidue()          // (c0 - c1) + (c0 + c1)u
        let t2 = t + t, t4 = t2 + t2, t8 = t4 + t4
        return t8 + t4
    }
}
