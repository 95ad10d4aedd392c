/// F_p⁶ = F_p²[v]/(v³ − ξ), ξ = u + 1. Elements c0 + c1·v + c2·v².
public struct Fp6: Sendable, Equatable {
    public var c0: Fp2
    public var c1: Fp2
    public var c2: Fp2

    init(c0: Fp2, c1: Fp2, c2: Fp2) { self.c0 = c0; self.c1 = c1; self.c2 = c2 }

    public static let zero = Fp6(c0: .zero, c1: .zero, c2: .zero)
    public static let one = Fp6(c0: .one, c1: .zero, c2: .zero)

    var isZeroBit: UInt64 { c0.isZeroBit & c1.isZeroBit & c2.isZeroBit }
    func equalBit(_ o: Fp6) -> UInt64 { c0.equalBit(o.c0) & c1.equalBit(o.c1) & c2.equalBit(o.c2) }
    public static func == (a: Fp6, b: Fp6) -> Bool { a.equalBit(b) == 1 }
    static func select(_ a: Fp6, _ b: Fp6, _ choice: UInt64) -> Fp6 {
        Fp6(c0: .select(a.c0, b.c0, choice), c1: .select(a.c1, b.c1, choice), c2: .select(a.c2, b.c2, choice))
    }

    static func + (a: Fp6, b: Fp6) -> Fp6 { Fp6(c0: a.c0 + b.c0, c1: a.c1 + b.c1, c2: a.c2 + b.c2) }
    static func - (a: Fp6, b: Fp6) -> Fp6 { Fp6(c0: a.c0 - b.c0, c1: a.c1 - b.c1, c2: a.c2 - b.c2) }
    static prefix func - (a: Fp6) -> Fp6 { Fp6(c0: -a.c0, c1: -a.c1, c2: -a.c2) }

    /// Karatsuba-style product: 6 F_p² products kept double-width, 6 reductions (not 12).
    /// Bounds of what is reduced (products of reduced factors lie in (−p², 2p²), `Fp2Wide`):
    /// c0 within (−6p², 8p²) per coordinate, c1 within ±7p², c2 within ±4p², all inside
    /// ±p·2^384 ≈ ±9.84p². Sums of factors are reduced first, so every product has these bounds.
    static func productPortable(_ a: Fp6, _ b: Fp6) -> Fp6 {
        let t0 = Fp2Wide.product(a.c0, b.c0)
        let t1 = Fp2Wide.product(a.c1, b.c1)
        let t2 = Fp2Wide.product(a.c2, b.c2)
        let c0 = (Fp2Wide.product(a.c1 + a.c2, b.c1 + b.c2) &- t1 &- t2).mulByNonresidue() &+ t0
        let c1 = Fp2Wide.product(a.c0 + a.c1, b.c0 + b.c1) &- t0 &- t1 &+ t2.mulByNonresidue()
        let c2 = Fp2Wide.product(a.c0 + a.c2, b.c0 + b.c2) &- t0 &- t2 &+ t1
        return Fp6(c0: c0.reduced(), c1: c1.reduced(), c2: c2.reduced())
    }

    /// Chung–Hasan SQR2 squaring.
    func squared() -> Fp6 {
        let s0 = c0.squared()
        let ab = c0 * c1
        let s1 = ab + ab
        let s2 = (c0 - c1 + c2).squared()
        let bc = c1 * c2
        let s3 = bc + bc
        let s4 = c2.squared()
        return Fp6(c0: s0 + s3.mulByNonresidue(), c1: s1 + s4.mulByNonresidue(), c2: s1 + s2 + s3 - s0 - s4)
    }

    /// Multiplication by v: (c0, c1, c2) ↦ (ξ·c2, c0, c1).
    func mulByNonresidue() -> Fp6 { Fp6(c0: c2.mulByNonresidue(), c1: c0, c2: c1) }

    /// self · (b0 + b1·v): 5 F_p² products kept double-width, 6 reductions (not 10); what is reduced
    /// lies within ±6p² (see `*`).
    func mulBy01(_ b0: Fp2, _ b1: Fp2) -> Fp6 {
        let t0 = Fp2Wide.product(c0, b0)
        let t1 = Fp2Wide.product(c1, b1)
        let r0 = (Fp2Wide.product(c1 + c2, b1) &- t1).mulByNonresidue() &+ t0
        let r1 = Fp2Wide.product(c0 + c1, b0 + b1) &- t0 &- t1
        let r2 = Fp2Wide.product(c0 + c2, b0) &- t0 &+ t1
        return Fp6(c0: r0.reduced(), c1: r1.reduced(), c2: r2.reduced())
    }

    /// self · (b1·v): 3 F_p² multiplications.
    func mulBy1(_ b1: Fp2) -> Fp6 {
        Fp6(c0: (c2 * b1).mulByNonresidue(), c1: c0 * b1, c2: c1 * b1)
    }

    public func inverse() -> Fp6 {
        let t0 = c0.squared() - (c1 * c2).mulByNonresidue()
        let t1 = c2.squared().mulByNonresidue() - c0 * c1
        let t2 = c1.squared() - c0 * c2
        let d = (c0 * t0 + (c2 * t1 + c1 * t2).mulByNonresidue()).inverse()
        return Fp6(c0: t0 * d, c1: t1 * d, c2: t2 * d)
    }

    /// x ↦ x^(p^k) for k = 1, 2, 3.
    func frobenius(_ k: Int) -> Fp6 {
        let a0 = c0.frobenius(k), a1 = c1.frobenius(k), a2 = c2.frobenius(k)
        switch k {
        case 1: return Fp6(c0: a0, c1: a1 * FrobeniusConstants.fp6C1_1, c2: a2 * FrobeniusConstants.fp6C2_1)
        case 2: return Fp6(c0: a0, c1: a1 * FrobeniusConstants.fp6C1_2, c2: a2 * FrobeniusConstants.fp6C2_2)
        default: return Fp6(c0: a0, c1: a1 * FrobeniusConstants.fp6C1_3, c2: a2 * FrobeniusConstants.fp6C2_3)
        }
    }
}
