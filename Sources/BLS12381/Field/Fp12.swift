import CFpKernel

/// F_p¹² = F_p⁶[w]/(w² − v). Elements c0 + c1·w.
public struct Fp12: Sendable, Equatable {
    public var c0: Fp6
    public var c1: Fp6

    init(c0: Fp6, c1: Fp6) { self.c0 = c0; self.c1 = c1 }

    public static let one = Fp12(c0: .one, c1: .zero)

    func equalBit(_ o: Fp12) -> UInt64 { c0.equalBit(o.c0) & c1.equalBit(o.c1) }
    public static func == (a: Fp12, b: Fp12) -> Bool { a.equalBit(b) == 1 }
    static func select(_ a: Fp12, _ b: Fp12, _ choice: UInt64) -> Fp12 {
        Fp12(c0: .select(a.c0, b.c0, choice), c1: .select(a.c1, b.c1, choice))
    }

    /// Karatsuba: 3 F_p⁶ multiplications.
    static func * (a: Fp12, b: Fp12) -> Fp12 {
        let t0 = a.c0 * b.c0
        let t1 = a.c1 * b.c1
        let c1 = (a.c0 + a.c1) * (b.c0 + b.c1) - t0 - t1
        return Fp12(c0: t0 + t1.mulByNonresidue(), c1: c1)
    }

    /// Complex squaring: 2 F_p⁶ multiplications.
    func squared() -> Fp12 {
        let ab = c0 * c1
        let t = (c0 + c1) * (c0 + c1.mulByNonresidue())
        return Fp12(c0: t - ab - ab.mulByNonresidue(), c1: ab + ab)
    }

    /// Multiplies by a sparse line ℓ0 + ℓ1·v + ℓ4·v·w (coefficients 0, 1, 4 of the F_p² basis).
    func mulBy014Portable(_ l0: Fp2, _ l1: Fp2, _ l4: Fp2) -> Fp12 {
        let t0 = c0.mulBy01(l0, l1)
        let t1 = c1.mulBy1(l4)
        let s = (c0 + c1).mulBy01(l0, l1 + l4)
        return Fp12(c0: t1.mulByNonresidue() + t0, c1: s - t0 - t1)
    }

    /// Multiplies by a sparse line 1 + ℓ1·v + ℓ4·v·w (a line divided by its constant coefficient):
    /// 9 F_p² products, where `mulBy014` takes 13.
    func mulBy1_14Portable(_ l1: Fp2, _ l4: Fp2) -> Fp12 {
        let t0 = c0 + c0.mulBy1(l1)                   // c0·(1 + ℓ1·v)
        let t1 = c1.mulBy1(l4)                        // c1·(ℓ4·v)
        let sum = c0 + c1
        let s = sum + sum.mulBy1(l1 + l4)             // (c0 + c1)·(1 + (ℓ1 + ℓ4)·v)
        return Fp12(c0: t1.mulByNonresidue() + t0, c1: s - t0 - t1)
    }

    /// Conjugation x ↦ x^(p⁶); equals the inverse on the cyclotomic subgroup.
    func conjugate() -> Fp12 { Fp12(c0: c0, c1: -c1) }

    public func inverse() -> Fp12 {
        let t = (c0.squared() - c1.squared().mulByNonresidue()).inverse()
        return Fp12(c0: c0 * t, c1: -(c1 * t))
    }

    /// x ↦ x^(p^k) for k = 1, 2, 3.
    func frobenius(_ k: Int) -> Fp12 {
        let a = c0.frobenius(k)
        let b = c1.frobenius(k)
        let d: Fp2
        switch k {
        case 1: d = FrobeniusConstants.fp12_1
        case 2: d = FrobeniusConstants.fp12_2
        default: d = FrobeniusConstants.fp12_3
        }
        return Fp12(c0: a, c1: Fp6(c0: b.c0 * d, c1: b.c1 * d, c2: b.c2 * d))
    }

    /// (a + b·w)² for the F_p⁴ = F_p²[w³]-style pair used by cyclotomic squaring: returns (a² + ξb², 2ab).
    /// Three double-width squarings, four reductions (not six): c0 = ξb² + a² ∈ (−2p², 6p²),
    /// c1 = (a + b)² − a² − b² ∈ (−4p², 2p²), inside ±p·2^384 (see `Fp2Wide`).
    @inline(always)
    static func fp4SquarePortable(_ a: Fp2, _ b: Fp2) -> (Fp2, Fp2) {
        let t0 = Fp2Wide.square(a)
        let t1 = Fp2Wide.square(b)
        let c0 = t1.mulByNonresidue() &+ t0
        let c1 = Fp2Wide.square(a + b) &- t0 &- t1
        return (c0.reduced(), c1.reduced())
    }

    /// Granger–Scott squaring, valid only for elements of the cyclotomic subgroup (after the easy part):
    /// the kernel does all of it in one call where the CPU has one (the final exponentiation's ~300
    /// squarings spent a third of their time in the Swift between three F_p⁴ kernel calls).
    func cyclotomicSquared() -> Fp12 {
        if twin_fp_kernel_uses_mulx() != 0 {
            var a = self, r = Fp12.one
            twin_fp12_cyclotomic_square_mulx(&r, &a)
            return r
        }
        return cyclotomicSquaredPortable()
    }

    /// The portable Granger–Scott squaring (F_p⁴ squarings through `fp4Square`).
    func cyclotomicSquaredPortable() -> Fp12 {
        var z0 = c0.c0, z4 = c0.c1, z3 = c0.c2
        var z2 = c1.c0, z1 = c1.c1, z5 = c1.c2

        var (t0, t1) = Fp12.fp4Square(z0, z1)
        z0 = t0 - z0; z0 = z0 + z0 + t0
        z1 = t1 + z1; z1 = z1 + z1 + t1

        (t0, t1) = Fp12.fp4Square(z2, z3)
        let (t2, t3) = Fp12.fp4Square(z4, z5)
        z4 = t0 - z4; z4 = z4 + z4 + t0
        z5 = t1 + z5; z5 = z5 + z5 + t1
        let t0b = t3.mulByNonresidue()
        z2 = t0b + z2; z2 = z2 + z2 + t0b
        z3 = t2 - z3; z3 = z3 + z3 + t2

        return Fp12(c0: Fp6(c0: z0, c1: z4, c2: z3), c1: Fp6(c0: z2, c1: z1, c2: z5))
    }

    /// self^|x| with |x| = 0xd201000000010000, using cyclotomic squarings (cyclotomic elements only).
    func cyclotomicPowAbsX() -> Fp12 {
        // bits of 0xd201000000010000 from the top: 1101 0010 0000 0001 ... 0001 0000 0000 0000 0000
        var res = self
        let z: UInt64 = 0xd201000000010000
        for i in stride(from: 62, through: 0, by: -1) {
            res = res.cyclotomicSquared()
            if (z >> UInt64(i)) & 1 == 1 { res = res * self }
        }
        return res
    }

    /// self^x for x = −0xd201000000010000 (cyclotomic elements only).
    func cyclotomicPowX() -> Fp12 { cyclotomicPowAbsX().conjugate() }

    /// self^((|x| + 1)/3) = self^0x460055555555aaab (cyclotomic elements only), by a fixed addition chain
    /// over the bytes 46 00 55 55 55 55 aa ab: 65 cyclotomic squarings and 13 multiplications.
    func cyclotomicPowZPlusOneOverThree() -> Fp12 {
        let t = self
        let t2 = t.cyclotomicSquared()
        let t4 = t2.cyclotomicSquared()
        let t5 = t4 * t
        let t10 = t5.cyclotomicSquared()
        let t20 = t10.cyclotomicSquared()
        let t21 = t20 * t
        let t42 = t21.cyclotomicSquared()
        let t84 = t42.cyclotomicSquared()
        let t85 = t84 * t                       // 0x55
        let t170 = t85.cyclotomicSquared()      // 0xaa
        let t171 = t170 * t                     // 0xab
        var acc = (t21 * t10 * t4).cyclotomicSquared()   // 35·2 = 70 = 0x46
        func shift8(_ a: Fp12) -> Fp12 {
            var r = a
            for _ in 0..<8 { r = r.cyclotomicSquared() }
            return r
        }
        acc = shift8(acc)                       // 0x4600
        acc = shift8(acc) * t85                 // 0x460055
        acc = shift8(acc) * t85
        acc = shift8(acc) * t85
        acc = shift8(acc) * t85                 // 0x4600555555555
        acc = shift8(acc) * t170
        acc = shift8(acc) * t171                // 0x460055555555aaab
        return acc
    }

    /// self^e for a public 64-bit exponent with a 4-bit sliding window over cyclotomic squarings.
    func cyclotomicPow(_ e: UInt64) -> Fp12 {
        // odd powers table: self^1, ^3, ..., ^15
        let sq = cyclotomicSquared()
        var table = [self]
        for _ in 1..<8 { table.append(table[table.count - 1] * sq) }
        var res = Fp12.one
        var started = false
        var i = 63
        while i >= 0 {
            if (e >> UInt64(i)) & 1 == 0 {
                if started { res = res.cyclotomicSquared() }
                i -= 1
                continue
            }
            // take a window of up to 4 bits ending in a 1
            var j = max(i - 3, 0)
            while (e >> UInt64(j)) & 1 == 0 { j += 1 }
            let width = i - j + 1
            let val = Int((e >> UInt64(j)) & ((1 << UInt64(width)) - 1))
            if started { for _ in 0..<width { res = res.cyclotomicSquared() } }
            res = started ? res * table[val >> 1] : table[val >> 1]
            started = true
            i = j - 1
        }
        return res
    }
}
