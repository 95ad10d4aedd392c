/// An F_p² value whose two coordinates are unreduced double-width integers, for lazy reduction one
/// level up the tower: the F_p⁶ product and the cyclotomic squaring combine several F_p² products
/// and pay one Montgomery reduction per output coordinate, not one per product.
///
/// Coordinates are *signed* 768-bit integers in two's complement: sums and differences are plain
/// wrapping additions, exact as long as every intermediate stays within ±2^767. `reduced()` adds
/// p·2^384 to a negative coordinate and then reduces, which requires |value| < p·2^384 ≈ 9.84·p².
/// Every product below is of fully reduced factors, so each coordinate of a product lies in
/// (−p², 2p²) — and each caller states the bound of what it reduces (all stay within ±8p²).
@usableFromInline
struct Fp2Wide: Sendable {
    @usableFromInline var c0: FpWide
    @usableFromInline var c1: FpWide

    @inline(always)
    init(c0: FpWide, c1: FpWide) { self.c0 = c0; self.c1 = c1 }

    /// a·b for reduced a, b: c0 = a0b0 − a1b1 ∈ (−p², p²), c1 = a0b1 + a1b0 ∈ [0, 2p²).
    @inline(always)
    static func productPortable(_ a: Fp2, _ b: Fp2) -> Fp2Wide {
        let v0 = FpWide.product(a.c0, b.c0)
        let v1 = FpWide.product(a.c1, b.c1)
        let s = FpWide.product(Fp.addUnreduced(a.c0, a.c1), Fp.addUnreduced(b.c0, b.c1))
        return Fp2Wide(c0: v0 &- v1, c1: s &- v0 &- v1)
    }

    /// a² for reduced a: c0 = (a0 + a1)(a0 − a1) ∈ [0, 2p²), c1 = 2a0·a1 ∈ [0, 2p²).
    @inline(always)
    static func squarePortable(_ a: Fp2) -> Fp2Wide {
        Fp2Wide(c0: FpWide.product(Fp.addUnreduced(a.c0, a.c1), a.c0 - a.c1),
                c1: FpWide.product(Fp.addUnreduced(a.c0, a.c0), a.c1))
    }

    @inline(always)
    static func &+ (a: Fp2Wide, b: Fp2Wide) -> Fp2Wide { Fp2Wide(c0: a.c0 &+ b.c0, c1: a.c1 &+ b.c1) }

    @inline(always)
    static func &- (a: Fp2Wide, b: Fp2Wide) -> Fp2Wide { Fp2Wide(c0: a.c0 &- b.c0, c1: a.c1 &- b.c1) }

    /// Multiplication by ξ = u + 1: (c0 − c1, c0 + c1), so each bound at most doubles.
    @inline(always)
    func mulByNonresidue() -> Fp2Wide { Fp2Wide(c0: c0 &- c1, c1: c0 &+ c1) }

    /// Both coordinates reduced into F_p; each must lie in (−p·2^384, p·2^384).
    @inline(always)
    func reduced() -> Fp2 { Fp2(c0: c0.signedReduced(), c1: c1.signedReduced()) }
}

extension FpWide {
    /// a + b mod 2^768 (two's complement: exact for signed values that stay within ±2^767).
    @inline(always)
    static func &+ (a: FpWide, b: FpWide) -> FpWide { addingReportingCarry(a, b).0 }

    /// a − b mod 2^768 (two's complement).
    @inline(always)
    static func &- (a: FpWide, b: FpWide) -> FpWide { subtractingReportingBorrow(a, b).0 }

    /// Montgomery reduction of a signed value in (−p·2^384, p·2^384): a negative one (top bit set)
    /// first gets p·2^384 added, which lands it in [0, p·2^384) without changing it mod p. Branch-free.
    @inline(always)
    func signedReduced() -> Fp { addingHighModulus(l11 >> 63).reduced() }
}

// a·b ± c·d with one reduction instead of two, for formulas whose outputs are such pairs (the
// complete group law ends in three of them). Factors are reduced, so the F_p sums lie in [0, 2p²),
// the differences in (−p², p²), and the F_p² ones within (−2p², 4p²): all inside ±p·2^384.
extension Fp {
    @inline(always)
    static func sumOfProducts(_ a: Fp, _ b: Fp, _ c: Fp, _ d: Fp) -> Fp {
        (FpWide.product(a, b) &+ FpWide.product(c, d)).reduced()
    }

    @inline(always)
    static func differenceOfProducts(_ a: Fp, _ b: Fp, _ c: Fp, _ d: Fp) -> Fp {
        (FpWide.product(a, b) &- FpWide.product(c, d)).signedReduced()
    }
}

extension Fp2 {
    @inline(always)
    static func sumOfProducts(_ a: Fp2, _ b: Fp2, _ c: Fp2, _ d: Fp2) -> Fp2 {
        (Fp2Wide.product(a, b) &+ Fp2Wide.product(c, d)).reduced()
    }

    @inline(always)
    static func differenceOfProducts(_ a: Fp2, _ b: Fp2, _ c: Fp2, _ d: Fp2) -> Fp2 {
        (Fp2Wide.product(a, b) &- Fp2Wide.product(c, d)).reduced()
    }
}
