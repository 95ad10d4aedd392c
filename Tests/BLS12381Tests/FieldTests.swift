import Testing
import TestSupport
@testable import BLS12381

@Suite("Field arithmetic laws")
struct FieldTests {
    @Test("F_p: ring laws, inverse, sqrt of squares, encoding", arguments: 0..<8)
    func fpLaws(seed: Int) {
        var g = SplitMix64(seed: UInt64(seed) &+ 1)
        let a = TestData.randomFp(&g), b = TestData.randomFp(&g), c = TestData.randomFp(&g)
        #expect((a * b) * c == a * (b * c))
        #expect((a + b) + c == a + (b + c))
        #expect(a * (b + c) == a * b + a * c)
        #expect(a * b == b * a)
        #expect(a - a == .zero)
        #expect(a + (-a) == .zero)
        #expect(a.squared() == a * a)
        #expect(a * a.inverse() == .one)
        let s = a.squared()
        #expect(s.isSquare)
        let r = s.sqrt()
        #expect(r != nil && (r! == a || r! == -a))
        #expect(Fp(bytes: a.bytes) == a)
    }

    @Test("F_p: edge values and canonical decoding")
    func fpEdges() {
        #expect(Fp.zero.inverse() == .zero)
        #expect(-Fp.zero == .zero)
        #expect(Fp.one.bytes.last == 1)
        let p = TestData.hex(TestData.pHex)
        #expect(Fp(bytes: p) == nil)                 // p itself is not canonical
        var pm1 = p; pm1[47] -= 1
        #expect(Fp(bytes: pm1) == -Fp.one)           // p − 1
        #expect(Fp(bytes: [UInt8](repeating: 0xff, count: 48)) == nil)
        #expect(Fp(bytes: [UInt8](repeating: 0, count: 47)) == nil)
        // -1 is not a square since p ≡ 3 (mod 4)
        #expect(!(-Fp.one).isSquare)
        #expect((-Fp.one).sqrt() == nil)
    }

    /// The lazily reduced F_p² product and squaring against their definitions in F_p, on values that
    /// push the double-width intermediates to their bounds (p − 1 everywhere: the largest products, and
    /// a0b0 − a1b1 negative, which takes the add-back path).
    @Test("F_p²: lazy-reduction products match the definition at the extremes", arguments: 0..<6)
    func fp2LazyReduction(seed: Int) {
        var g = SplitMix64(seed: UInt64(seed) &+ 150)
        let top = -Fp.one
        let samples: [Fp2] = [
            Fp2(c0: top, c1: top), Fp2(c0: .zero, c1: top), Fp2(c0: top, c1: .zero), Fp2(c0: .one, c1: top),
            TestData.randomFp2(&g), TestData.randomFp2(&g),
        ]
        let a = samples[seed]
        for b in samples {
            let product = a * b
            #expect(product.c0 == a.c0 * b.c0 - a.c1 * b.c1)
            #expect(product.c1 == a.c0 * b.c1 + a.c1 * b.c0)
        }
        #expect(a.squared() == Fp2(c0: a.c0 * a.c0 - a.c1 * a.c1, c1: (a.c0 * a.c1).doubled()))
        #expect(a.c0.squared() == a.c0 * a.c0 && a.c1.squared() == a.c1 * a.c1)
    }

    /// Values that push the lazily reduced sums of products to their bounds: p − 1 in every
    /// coordinate gives the largest products, zeros and ones next to it the most negative differences.
    static let extremeFp2: [Fp2] = {
        let top = -Fp.one
        return [Fp2(c0: top, c1: top), Fp2(c0: .zero, c1: top), Fp2(c0: top, c1: .zero), Fp2(c0: .one, c1: top), .zero]
    }()

    /// The F_p⁶ product, the sparse product, the F_p⁴ squaring of the cyclotomic squaring and the
    /// group law's paired products, all reduced once per output, against the same formulas with every
    /// F_p² product reduced on its own (`Fp2.mul`, checked above against the definition in F_p).
    @Test("F_p⁶ / F_p⁴ / paired products: lazy reduction matches reduce-every-product at the extremes",
          arguments: 0..<5)
    func towerLazyReduction(seed: Int) {
        var g = SplitMix64(seed: UInt64(seed) &+ 170)
        let pool = Self.extremeFp2 + [TestData.randomFp2(&g), TestData.randomFp2(&g)]
        func pick() -> Fp2 { pool[Int(g.next() % UInt64(pool.count))] }
        for _ in 0..<40 {
            let a = Fp6(c0: pick(), c1: pick(), c2: pick()), b = Fp6(c0: pick(), c1: pick(), c2: pick())
            let t0 = a.c0 * b.c0, t1 = a.c1 * b.c1, t2 = a.c2 * b.c2
            let expected = Fp6(c0: t0 + (a.c1 * b.c2 + a.c2 * b.c1).mulByNonresidue(),
                               c1: a.c0 * b.c1 + a.c1 * b.c0 + t2.mulByNonresidue(),
                               c2: a.c0 * b.c2 + a.c2 * b.c0 + t1)
            #expect(a * b == expected)
            #expect(a.mulBy01(b.c0, b.c1) == a * Fp6(c0: b.c0, c1: b.c1, c2: .zero))
            let (s0, s1) = Fp12.fp4Square(a.c0, a.c1)
            #expect(s0 == a.c0 * a.c0 + (a.c1 * a.c1).mulByNonresidue())
            #expect(s1 == (a.c0 * a.c1).doubled())
            #expect(Fp2.sumOfProducts(a.c0, a.c1, b.c0, b.c1) == a.c0 * a.c1 + b.c0 * b.c1)
            #expect(Fp2.differenceOfProducts(a.c0, a.c1, b.c0, b.c1) == a.c0 * a.c1 - b.c0 * b.c1)
            #expect(Fp.sumOfProducts(a.c0.c0, a.c1.c1, b.c0.c1, b.c2.c0) == a.c0.c0 * a.c1.c1 + b.c0.c1 * b.c2.c0)
            #expect(Fp.differenceOfProducts(a.c0.c0, a.c1.c1, b.c0.c1, b.c2.c0) == a.c0.c0 * a.c1.c1 - b.c0.c1 * b.c2.c0)
        }
    }

    @Test("F_p²: laws, inverse, sqrt, Frobenius = conjugation", arguments: 0..<6)
    func fp2Laws(seed: Int) {
        var g = SplitMix64(seed: UInt64(seed) &+ 100)
        let a = TestData.randomFp2(&g), b = TestData.randomFp2(&g), c = TestData.randomFp2(&g)
        #expect((a * b) * c == a * (b * c))
        #expect(a * (b + c) == a * b + a * c)
        #expect(a.squared() == a * a)
        #expect(a * a.inverse() == .one)
        let u = Fp2(c0: .zero, c1: .one)
        #expect(u * u == -Fp2.one)
        #expect(a.mulByNonresidue() == a * Fp2(c0: .one, c1: .one))
        #expect(a.mulBy3b() == a * Fp2(c0: Fp(12), c1: Fp(12)))
        let s = a.squared()
        let r = s.sqrt()
        #expect(r != nil && (r! == a || r! == -a))
        #expect(a.pow(TestData.pLimbs) == a.conjugate())
    }

    @Test("F_p⁶ and F_p¹²: laws, inverse, sparse products", arguments: 0..<4)
    func towerLaws(seed: Int) {
        var g = SplitMix64(seed: UInt64(seed) &+ 200)
        let a = TestData.randomFp6(&g), b = TestData.randomFp6(&g), c = TestData.randomFp6(&g)
        #expect((a * b) * c == a * (b * c))
        #expect(a * (b + c) == a * b + a * c)
        #expect(a.squared() == a * a)
        #expect(a * a.inverse() == .one)
        let x0 = TestData.randomFp2(&g), x1 = TestData.randomFp2(&g), x4 = TestData.randomFp2(&g)
        #expect(a.mulBy01(x0, x1) == a * Fp6(c0: x0, c1: x1, c2: .zero))
        #expect(a.mulBy1(x1) == a * Fp6(c0: .zero, c1: x1, c2: .zero))
        let f = TestData.randomFp12(&g), h = TestData.randomFp12(&g), k = TestData.randomFp12(&g)
        #expect((f * h) * k == f * (h * k))
        #expect(f * (h * k) == (f * k) * h)
        #expect(f.squared() == f * f)
        #expect(f * f.inverse() == .one)
        let line = Fp12(c0: Fp6(c0: x0, c1: x1, c2: .zero), c1: Fp6(c0: .zero, c1: x4, c2: .zero))
        #expect(f.mulBy014(x0, x1, x4) == f * line)
        let normalized = Fp12(c0: Fp6(c0: .one, c1: x1, c2: .zero), c1: Fp6(c0: .zero, c1: x4, c2: .zero))
        #expect(f.mulBy1_14(x1, x4) == f * normalized)
    }

    @Test("Frobenius maps equal x^p, x^(p²), x^(p³)")
    func frobenius() {
        var g = SplitMix64(seed: 300)
        let f = TestData.randomFp12(&g)
        let fp = TestData.pow12(f, TestData.pLimbs)
        #expect(f.frobenius(1) == fp)
        #expect(f.frobenius(2) == f.frobenius(1).frobenius(1))
        #expect(f.frobenius(3) == f.frobenius(2).frobenius(1))
        let a = TestData.randomFp6(&g)
        let a12 = Fp12(c0: a, c1: .zero)
        #expect(Fp12(c0: a.frobenius(1), c1: .zero) == a12.frobenius(1))
    }

    @Test("cyclotomic squaring agrees with squaring after the easy part")
    func cyclotomic() {
        var g = SplitMix64(seed: 400)
        let f = TestData.randomFp12(&g)
        var t = f.conjugate() * f.inverse()
        t = t.frobenius(2) * t
        #expect(t.cyclotomicSquared() == t.squared())
        #expect(t.cyclotomicPow(0x460055555555aaab) == TestData.pow12(t, [0x460055555555aaab]))
        #expect(t.cyclotomicPowAbsX() == TestData.pow12(t, [0xd201000000010000]))
        #expect(t.cyclotomicPowZPlusOneOverThree() == TestData.pow12(t, [0x460055555555aaab]))
    }

    @Test("F_r: laws, inverse, encoding, wide reduction", arguments: 0..<6)
    func frLaws(seed: Int) {
        var g = SplitMix64(seed: UInt64(seed) &+ 500)
        let a = Fr.random(using: &g), b = Fr.random(using: &g), c = Fr.random(using: &g)
        #expect((a * b) * c == a * (b * c))
        #expect(a * (b + c) == a * b + a * c)
        #expect(a - b + b == a)
        #expect(a + (-a) == .zero)
        #expect(a * a.inverse() == .one)
        #expect(Fr(bytes: a.bytes) == a)
    }

    @Test("F_r: canonical decoding and reduction edge cases")
    func frEdges() {
        let r = TestData.hex("73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001")
        #expect(Fr(bytes: r) == nil)
        var rm1 = r; rm1[31] = 0
        #expect(Fr(bytes: rm1) == -Fr.one)
        // r (zero-extended to 64 bytes) reduces to zero; r + 5 to 5; 2^512 − 1 is reduced without trapping
        #expect(Fr(wideBytes: [UInt8](repeating: 0, count: 32) + r) == .zero)
        var r5 = r; r5[31] = 6
        #expect(Fr(wideBytes: [UInt8](repeating: 0, count: 32) + r5) == Fr(5))
        let big = Fr(wideBytes: [UInt8](repeating: 0xff, count: 64))
        #expect(Fr(bytes: big.bytes) == big)
        #expect(Fr.random() != Fr.random())
    }
}
