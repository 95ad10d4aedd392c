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
    /// Constant-time version of `baseZ` for secret scalars: bit-serial restoring division by z with
    /// masked subtraction (no hardware division, no branches on the scalar).
    static func baseZConstantTime(_ k: Fr) -> (UInt64, UInt64, UInt64, UInt64) {
        let c = k.canonicalLimbs
        var words: (UInt64, UInt64, UInt64, UInt64) = (c.0, c.1, c.2, c.3)
        var digits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        let zz = UInt128(z)
        for d in 0..<4 {
            var q: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
            var rem: UInt128 = 0
            for i in stride(from: 255, through: 0, by: -1) {
                let w: UInt64
                switch i >> 6 { case 0: w = words.0; case 1: w = words.1; case 2: w = words.2; default: w = words.3 }
                rem = (rem << 1) | UInt128((w >> UInt64(i & 63)) & 1)
                let diff = rem &- zz
                let ge = 1 &- UInt64(truncatingIfNeeded: diff >> 127)   // 1 when rem ≥ z
                let m = UInt128(maskFromBit(ge)) | (UInt128(maskFromBit(ge)) << 64)
                rem = (diff & m) | (rem & ~m)
                let qb = ge << UInt64(i & 63)
                switch i >> 6 { case 0: q.0 |= qb; case 1: q.1 |= qb; case 2: q.2 |= qb; default: q.3 |= qb }
            }
            let r = UInt64(truncatingIfNeeded: rem)
            switch d { case 0: digits.0 = r; case 1: digits.1 = r; case 2: digits.2 = r; default: digits.3 = r }
            words = q
        }
        return digits
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
