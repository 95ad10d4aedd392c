/// Scalar helpers shared by the endomorphism-accelerated multiplications.
enum ScalarDecomposition {
    /// |x| for the BLS parameter x = −0xd201000000010000.
    static let z: UInt64 = 0xd201000000010000

    /// Digits of k in base z: k = d0 + d1·z + d2·z² + d3·z³ (k < r < z⁴), each digit < z.
    static func baseZ(_ k: Fr) -> (UInt64, UInt64, UInt64, UInt64) {
        let c = k.canonicalLimbs
        var words = [c.3, c.2, c.1, c.0] // most significant first
        var digits = [UInt64]()
        for _ in 0..<4 {
            var rem: UInt64 = 0
            for i in 0..<words.count {
                let (q, r) = z.dividingFullWidth((rem, words[i]))
                words[i] = q; rem = r
            }
            digits.append(rem)
        }
        return (digits[0], digits[1], digits[2], digits[3])
    }
}

extension ScalarDecomposition {
    /// ⌊(2¹²⁸ − 1)/z⌋ − 2⁶⁴, the reciprocal `divide2by1` multiplies by (z has its top bit set).
    static let zReciprocal: UInt64 = 0x381204ca56cd56b5

    /// Constant-time version of `baseZ` for secret scalars: schoolbook division by z, one 128-by-64-bit
    /// step per limb, each by multiplication with z's reciprocal (no hardware division, whose timing
    /// depends on its operands; no branches on the scalar).
    static func baseZConstantTime(_ k: Fr) -> (UInt64, UInt64, UInt64, UInt64) {
        let c = k.canonicalLimbs
        var words = (c.3, c.2, c.1, c.0)  // most significant first
        var digits: [UInt64] = []
        digits.reserveCapacity(4)
        for _ in 0..<4 {
            var remainder: UInt64 = 0
            (words.0, remainder) = divide2by1(remainder, words.0)
            (words.1, remainder) = divide2by1(remainder, words.1)
            (words.2, remainder) = divide2by1(remainder, words.2)
            (words.3, remainder) = divide2by1(remainder, words.3)
            digits.append(remainder)
        }
        return (digits[0], digits[1], digits[2], digits[3])
    }

    /// (high·2⁶⁴ + low) / z for high < z, branch-free: Möller and Granlund, "Improved division by
    /// invariant integers" (IEEE Trans. Computers 60(2), 2011), Algorithm 4, with its two corrections
    /// applied through masks. The second (remainder still ≥ z) is rare in general, and for this z no
    /// input has been found to take it (2·10⁹ random and near-boundary pairs searched); it stays
    /// because the algorithm's proof needs it, at the cost of four instructions.
    @inline(__always)
    static func divide2by1(_ high: UInt64, _ low: UInt64) -> (quotient: UInt64, remainder: UInt64) {
        let product = UInt128(zReciprocal) &* UInt128(high) &+ (UInt128(high) << 64 | UInt128(low))
        var quotient = UInt64(truncatingIfNeeded: product >> 64) &+ 1
        var remainder = low &- quotient &* z
        let over = maskFromBit(sbb(UInt64(truncatingIfNeeded: product), remainder, 0).1)  // remainder > product's low word
        quotient &+= over                                                                // − 1
        remainder &+= z & over
        let atLeastZ = maskFromBit(1 &- sbb(remainder, z, 0).1)                          // remainder ≥ z
        quotient &-= atLeastZ                                                            // + 1
        remainder &-= z & atLeastZ
        return (quotient, remainder)
    }
}

/// Width-w non-adjacent form of a non-negative scalar, least significant digit first.
func wnaf(_ scalar: UInt128, window: Int) -> [Int8] {
    var k = scalar
    var out = [Int8]()
    out.reserveCapacity(130)
    let full = UInt128(1) << UInt128(window)
    let halfw = Int(1) << (window - 1)
    while k != 0 {
        if k & 1 == 1 {
            var d = Int(k & (full - 1))
            if d >= halfw { d -= Int(full) }
            out.append(Int8(d))
            if d >= 0 { k -= UInt128(d) } else { k += UInt128(-d) }
        } else {
            out.append(0)
        }
        k >>= 1
    }
    return out
}

extension Fp {
    /// Multiplication by 3·b = 12 (G1 curve constant b = 4).
    @inline(always) func mulBy3b() -> Fp {
        let t2 = self + self, t4 = t2 + t2, t8 = t4 + t4
        return t8 + t4
    }
}
