import CFpKernel
import Testing
import TestSupport
@testable import BLS12381

/// The mulx/adcx/adox kernels against the portable Swift path, limb for limb, on random values and on
/// the edges of each function's input range. Called directly, so both paths run whichever one the
/// process selected.
@Suite("F_p kernels: mulx against portable", .enabled(if: twin_fp_cpu_has_mulx() != 0, "this CPU has no BMI2/ADX"))
struct FieldKernelTests {
    static let p: [UInt64] = [Fp.M0, Fp.M1, Fp.M2, Fp.M3, Fp.M4, Fp.M5]

    static func limbs(_ a: Fp) -> [UInt64] { [a.l0, a.l1, a.l2, a.l3, a.l4, a.l5] }
    static func limbs(_ w: FpWide) -> [UInt64] { [w.l0, w.l1, w.l2, w.l3, w.l4, w.l5, w.l6, w.l7, w.l8, w.l9, w.l10, w.l11] }
    static func fp(_ l: [UInt64]) -> Fp { Fp(l[0], l[1], l[2], l[3], l[4], l[5]) }
    static func wide(_ l: [UInt64]) -> FpWide { FpWide(l[0], l[1], l[2], l[3], l[4], l[5], l[6], l[7], l[8], l[9], l[10], l[11]) }

    static func kernelMul(_ a: Fp, _ b: Fp) -> Fp {
        var a = a, b = b, r = Fp(0, 0, 0, 0, 0, 0)
        twin_fp_mul_mulx(&r, &a, &b)
        return r
    }

    static func kernelProduct(_ a: Fp, _ b: Fp) -> FpWide {
        var a = a, b = b, r = FpWide(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        twin_fp_product_mulx(&r, &a, &b)
        return r
    }

    static func kernelReduce(_ t: FpWide) -> Fp {
        var t = t, r = Fp(0, 0, 0, 0, 0, 0)
        twin_fp_reduce_mulx(&r, &t)
        return r
    }

    /// Reduced elements at the edges: 0, 1, 2, p − 1, p − 2, R mod p, and limbs all ones below p's top.
    static var edgeElements: [Fp] {
        let pMinus = { (k: UInt64) in fp([p[0] - k] + p[1...]) }
        return [fp([0, 0, 0, 0, 0, 0]), fp([1, 0, 0, 0, 0, 0]), fp([2, 0, 0, 0, 0, 0]), pMinus(1), pMinus(2), .one,
                fp([.max, .max, .max, .max, .max, p[5] - 1]), fp([0, 0, 0, 0, 0, p[5] - 1])]
    }

    @Test("Montgomery product: edges and 2,000 random pairs")
    func montgomeryProduct() {
        var g = SplitMix64(seed: 0x6d75_6c78)
        var values = Self.edgeElements
        for _ in 0..<60 { values.append(TestData.randomFp(&g)) }
        for a in values { for b in Self.edgeElements { #expect(Self.limbs(Self.kernelMul(a, b)) == Self.limbs(Fp.mulPortable(a, b))) } }
        for _ in 0..<2_000 {
            let a = TestData.randomFp(&g), b = TestData.randomFp(&g)
            #expect(Self.limbs(Self.kernelMul(a, b)) == Self.limbs(Fp.mulPortable(a, b)))
        }
    }

    @Test("Wide product: any six limbs, all ones included")
    func wideProduct() {
        var g = SplitMix64(seed: 0x7072_6f64)
        let ones = Self.fp([.max, .max, .max, .max, .max, .max])
        var values = Self.edgeElements + [ones]
        for _ in 0..<60 { values.append(Self.fp((0..<6).map { _ in g.next() })) }
        for a in values { for b in values { #expect(Self.limbs(Self.kernelProduct(a, b)) == Self.limbs(FpWide.productPortable(a, b))) } }
    }

    @Test("Reduction: 0, p·2^384 − 1, and random values below p·2^384")
    func reduction() {
        var g = SplitMix64(seed: 0x7265_6463)
        var values = [Self.wide([UInt64](repeating: 0, count: 12)),
                      Self.wide([UInt64](repeating: .max, count: 6) + [Self.p[0] - 1] + Self.p[1...]),
                      Self.wide([UInt64](repeating: 0, count: 6) + Self.p)]  // p·2^384 − 0 is out of range: replaced below
        values[2] = Self.wide([UInt64](repeating: 0, count: 6) + [Self.p[0] - 1] + Self.p[1...])
        for _ in 0..<2_000 {
            let high = TestData.randomFp(&g)
            values.append(Self.wide((0..<6).map { _ in g.next() } + Self.limbs(high)))
        }
        for t in values { #expect(Self.limbs(Self.kernelReduce(t)) == Self.limbs(t.reducedPortable())) }
    }

    /// Pairs of F_p² elements built from every two edge elements, then 1,000 random pairs.
    static func fp2Pairs(seed: UInt64) -> [(Fp2, Fp2)] {
        var g = SplitMix64(seed: seed)
        var pairs: [(Fp2, Fp2)] = []
        for x in edgeElements { for y in edgeElements { pairs.append((Fp2(c0: x, c1: y), Fp2(c0: y, c1: x))) } }
        for _ in 0..<1_000 { pairs.append((TestData.randomFp2(&g), TestData.randomFp2(&g))) }
        return pairs
    }

    @Test("F_p² products and squares, reduced and unreduced: edges and 1,000 random pairs")
    func fp2Products() {
        for (a, b) in Self.fp2Pairs(seed: 0x6670_3221) {
            var x = a, y = b, reduced = Fp2(c0: .zero, c1: .zero)
            twin_fp2_mul_mulx(&reduced, &x, &y)
            let expected = Fp2.mulPortable(a, b)
            #expect(Self.limbs(reduced.c0) == Self.limbs(expected.c0) && Self.limbs(reduced.c1) == Self.limbs(expected.c1))
            let zero = Self.wide([UInt64](repeating: 0, count: 12))
            var wide = Fp2Wide(c0: zero, c1: zero)
            twin_fp2_product_mulx(&wide, &x, &y)
            let expectedWide = Fp2Wide.productPortable(a, b)
            #expect(Self.limbs(wide.c0) == Self.limbs(expectedWide.c0) && Self.limbs(wide.c1) == Self.limbs(expectedWide.c1))
            twin_fp2_square_mulx(&reduced, &x)
            let square = Fp2.squarePortable(a)
            #expect(Self.limbs(reduced.c0) == Self.limbs(square.c0) && Self.limbs(reduced.c1) == Self.limbs(square.c1))
            twin_fp2_square_product_mulx(&wide, &x)
            let squareWide = Fp2Wide.squarePortable(a)
            #expect(Self.limbs(wide.c0) == Self.limbs(squareWide.c0) && Self.limbs(wide.c1) == Self.limbs(squareWide.c1))
        }
    }

    @Test("F_p⁴ squaring (cyclotomic squaring's core): edges and 1,000 random pairs")
    func fp4Square() {
        for (a, b) in Self.fp2Pairs(seed: 0x6670_3422) {
            var x = a, y = b
            var r = (Fp2(c0: .zero, c1: .zero), Fp2(c0: .zero, c1: .zero))
            twin_fp4_square_mulx(&r, &x, &y)
            let expected = Fp12.fp4SquarePortable(a, b)
            #expect([r.0.c0, r.0.c1, r.1.c0, r.1.c1].map(Self.limbs) == [expected.0.c0, expected.0.c1, expected.1.c0, expected.1.c1].map(Self.limbs))
        }
    }

    @Test("Cyclotomic squaring in one call: the F_p¹² layout, elements of edge and random F_p² values against the portable path, and in place")
    func cyclotomicSquare() {
        #expect(MemoryLayout<Fp12>.size == 72 * 8 && MemoryLayout<Fp12>.stride == 72 * 8)
        // The kernel computes the same formula as the portable path for any reduced input (only on
        // the cyclotomic subgroup is it a squaring), so arbitrary elements test every limb.
        let pairs = Self.fp2Pairs(seed: 0x6379_636C)
        for index in stride(from: 0, to: pairs.count - 2, by: 3) {
            let a = Fp12(c0: Fp6(c0: pairs[index].0, c1: pairs[index].1, c2: pairs[index + 1].0),
                         c1: Fp6(c0: pairs[index + 1].1, c1: pairs[index + 2].0, c2: pairs[index + 2].1))
            var x = a, r = Fp12.one
            twin_fp12_cyclotomic_square_mulx(&r, &x)
            let expected = a.cyclotomicSquaredPortable()
            #expect(Self.limbs12(r) == Self.limbs12(expected))
            withUnsafeMutablePointer(to: &x) { twin_fp12_cyclotomic_square_mulx($0, $0) }  // out = a
            #expect(Self.limbs12(x) == Self.limbs12(expected))
        }
    }

    @Test("F_p⁶ product in one call: the layout, elements of edge and random F_p² values against the portable path, and in place")
    func fp6Product() {
        #expect(MemoryLayout<Fp6>.size == 36 * 8 && MemoryLayout<Fp6>.stride == 36 * 8)
        let pairs = Self.fp2Pairs(seed: 0x6670_3623)
        for index in stride(from: 0, to: pairs.count - 2, by: 3) {
            let a = Fp6(c0: pairs[index].0, c1: pairs[index + 1].0, c2: pairs[index + 2].0)
            let b = Fp6(c0: pairs[index].1, c1: pairs[index + 1].1, c2: pairs[index + 2].1)
            for (x, y) in [(a, b), (b, a), (a, a)] {
                var x = x, y = y, r = Fp6.zero
                twin_fp6_mul_mulx(&r, &x, &y)
                let expected = Fp6.productPortable(x, y)
                #expect(Self.limbs6(r) == Self.limbs6(expected))
                withUnsafeMutablePointer(to: &x) { twin_fp6_mul_mulx($0, $0, &y) }         // out = a
                #expect(Self.limbs6(x) == Self.limbs6(expected))
            }
        }
    }

    static func limbs6(_ a: Fp6) -> [UInt64] { [a.c0, a.c1, a.c2].flatMap { [$0.c0, $0.c1] }.flatMap(limbs) }

    static func limbsG2(_ p: G2Projective) -> [UInt64] { [p.x, p.y, p.z].flatMap { [$0.c0, $0.c1] }.flatMap(limbs) }

    /// G2 points for the group-law kernels: multiples of the generator with random Z (the same point
    /// in other coordinates), the identity in several representations, a point and its negation, and
    /// coordinates of edge and random F_p² values that lie on no curve (the formulas are polynomials:
    /// the kernel must give the portable path's limbs for any reduced input).
    static func g2Points(seed: UInt64) -> [G2Projective] {
        var g = SplitMix64(seed: seed)
        var points: [G2Projective] = [.identity, G2Projective(x: .zero, y: Fp2(c0: Fp(5), c1: Fp(7)), z: .zero), .generator, -G2Projective.generator]
        var p = G2Projective.generator
        for _ in 0..<40 {
            p = p.doubledPortable() + .generator
            let z = TestData.randomFp2(&g)
            points.append(G2Projective(x: p.x * z, y: p.y * z, z: p.z * z))
        }
        let pairs = fp2Pairs(seed: seed ^ 0x9e37)
        for index in stride(from: 0, to: pairs.count - 1, by: 2) {
            points.append(G2Projective(x: pairs[index].0, y: pairs[index].1, z: pairs[index + 1].0))
        }
        return points
    }

    /// A group's addition and doubling kernels against its portable formulas, limb for limb: every
    /// point doubled, and added to itself, its negation, the next point, a random one and the
    /// identity; each also in place (out = p).
    static func checkGroupLawKernels<G: ProjectiveGroup>(
        _ points: [G], seed: UInt64, limbs: (G) -> [UInt64],
        add: (UnsafeMutableRawPointer?, UnsafeRawPointer?, UnsafeRawPointer?) -> Void,
        double: (UnsafeMutableRawPointer?, UnsafeRawPointer?) -> Void,
        sumPortable: (G, G) -> G, doubledPortable: (G) -> G
    ) {
        var g = SplitMix64(seed: seed)
        for (i, p) in points.enumerated() {
            var x = p, r = G.identity
            double(&r, &x)
            #expect(limbs(r) == limbs(doubledPortable(p)))
            withUnsafeMutablePointer(to: &x) { double($0, $0) }
            #expect(limbs(x) == limbs(doubledPortable(p)))
            for q in [p, -p, points[(i + 1) % points.count], points[Int(g.next() % UInt64(points.count))], .identity] {
                var a = p, b = q, s = G.identity
                add(&s, &a, &b)
                #expect(limbs(s) == limbs(sumPortable(p, q)))
                withUnsafeMutablePointer(to: &a) { add($0, $0, &b) }
                #expect(limbs(a) == limbs(sumPortable(p, q)))
            }
        }
    }

    @Test("G2 addition and doubling in one call each: the layout, on and off the curve, the identity, P + P and P − P, and in place")
    func g2GroupLaw() {
        #expect(MemoryLayout<G2Projective>.size == 36 * 8 && MemoryLayout<G2Projective>.offset(of: \G2Projective.z) == 24 * 8)
        Self.checkGroupLawKernels(Self.g2Points(seed: 0x6732_6164), seed: 0x6732_7161, limbs: Self.limbsG2,
                                  add: twin_g2_add_mulx, double: twin_g2_double_mulx,
                                  sumPortable: G2Projective.sumPortable, doubledPortable: { $0.doubledPortable() })
        // On the curve, the results are the group law's: P + P = 2P and P − P = O.
        let p = G2Projective.generator.mulVartime(Fr(12_345))
        #expect(p + p == p.doubled() && (p + (-p)).isIdentity)
    }

    @Test("Sparse line products in one call: edge and random F_p¹² values and lines against the portable path, and in place")
    func sparseLineProducts() {
        let pairs = Self.fp2Pairs(seed: 0x6c69_6e65)
        for index in stride(from: 0, to: pairs.count - 4, by: 5) {
            let f = Fp12(c0: Fp6(c0: pairs[index].0, c1: pairs[index].1, c2: pairs[index + 1].0),
                         c1: Fp6(c0: pairs[index + 1].1, c1: pairs[index + 2].0, c2: pairs[index + 2].1))
            let (l0, l1, l4) = (pairs[index + 3].0, pairs[index + 3].1, pairs[index + 4].0)
            var x = f, line = (l0, l1, l4), r = Fp12.one
            twin_fp12_mul_by_014_mulx(&r, &x, &line)
            let expected = f.mulBy014Portable(l0, l1, l4)
            #expect(Self.limbs12(r) == Self.limbs12(expected))
            withUnsafeMutablePointer(to: &x) { twin_fp12_mul_by_014_mulx($0, $0, &line) }   // out = f
            #expect(Self.limbs12(x) == Self.limbs12(expected))
            var y = f, prepared = (l1, l4)
            twin_fp12_mul_by_1_14_mulx(&r, &y, &prepared)
            let expectedPrepared = f.mulBy1_14Portable(l1, l4)
            #expect(Self.limbs12(r) == Self.limbs12(expectedPrepared))
            withUnsafeMutablePointer(to: &y) { twin_fp12_mul_by_1_14_mulx($0, $0, &prepared) }
            #expect(Self.limbs12(y) == Self.limbs12(expectedPrepared))
        }
    }

    static func limbsG1(_ p: G1Projective) -> [UInt64] { [p.x, p.y, p.z].flatMap(limbs) }

    @Test("G1 addition and doubling in one call each: the layout, on and off the curve, the identity, P + P and P − P, and in place")
    func g1GroupLaw() {
        #expect(MemoryLayout<G1Projective>.size == 18 * 8 && MemoryLayout<G1Projective>.offset(of: \G1Projective.z) == 12 * 8)
        var g = SplitMix64(seed: 0x6731_6164)
        var points: [G1Projective] = [.identity, G1Projective(x: .zero, y: Fp(5), z: .zero), .generator, -G1Projective.generator]
        var p = G1Projective.generator
        for _ in 0..<40 {
            p = p.doubledPortable() + .generator
            let z = TestData.randomFp(&g)
            points.append(G1Projective(x: p.x * z, y: p.y * z, z: p.z * z))
        }
        let edges = Self.edgeElements
        for x in edges { for y in edges { points.append(G1Projective(x: x, y: y, z: edges[Int(g.next() % UInt64(edges.count))])) } }
        for _ in 0..<100 { points.append(G1Projective(x: TestData.randomFp(&g), y: TestData.randomFp(&g), z: TestData.randomFp(&g))) }
        Self.checkGroupLawKernels(points, seed: 0x6731_7161, limbs: Self.limbsG1,
                                  add: twin_g1_add_mulx, double: twin_g1_double_mulx,
                                  sumPortable: G1Projective.sumPortable, doubledPortable: { $0.doubledPortable() })
        let q = G1Projective.generator.mulVartime(Fr(54_321))
        #expect(q + q == q.doubled() && (q + (-q)).isIdentity)
    }

    static func limbs12(_ a: Fp12) -> [UInt64] {
        [a.c0.c0, a.c0.c1, a.c0.c2, a.c1.c0, a.c1.c1, a.c1.c2].flatMap { [$0.c0, $0.c1] }.flatMap(limbs)
    }

    @Test("The process-wide switch changes the path, not the values")
    func switchKeepsValues() {
        var g = SplitMix64(seed: 0x7377_6974)
        let a = TestData.randomFp2(&g), b = TestData.randomFp2(&g)
        let initial = FieldKernel.current
        defer { FieldKernel.select(initial) }
        #expect(FieldKernel.select(.portable) == .portable)
        let portable = (a * b, a.squared(), a.inverse())
        #expect(FieldKernel.select(.mulx) == .mulx)
        let mulx = (a * b, a.squared(), a.inverse())
        #expect(portable.0 == mulx.0 && portable.1 == mulx.1 && portable.2 == mulx.2)
    }
}
