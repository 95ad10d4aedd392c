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
