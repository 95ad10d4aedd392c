// Scalar-multiplication algorithms written once for both groups. G1 and G2 differ only in their
// group law and endomorphism (φ on G1, ψ on G2), so the algorithms are generic over the few operations
// they need; whole-module optimisation specialises them for each group, so there is no dispatch cost.

/// The operations the scalar-multiplication algorithms need from a group in projective coordinates.
protocol ProjectiveGroup: Sendable {
    associatedtype Affine: Sendable
    static var identity: Self { get }
    func doubled() -> Self
    static func + (p: Self, q: Self) -> Self
    static func + (p: Self, q: Affine) -> Self
    static prefix func - (p: Self) -> Self
    /// `b` when `choice` is 1, `a` when 0, without branching.
    static func select(_ a: Self, _ b: Self, _ choice: UInt64) -> Self
    static func batchNormalize(_ points: [Self]) -> [Affine]
    func mulVartime(_ k: Fr) -> Self
}

/// A scalar split into short digits, one per base point: k = Σ dⱼ·λʲ, where λ is the eigenvalue of the
/// group's endomorphism, taken as the integer `ratio` with Pⱼ = ratio·Pⱼ₋₁ exactly (|x| on G2, |x|² on
/// G1). Every digit is below `bound`.
struct EndomorphismSplit {
    var digits: [UInt128]
    var bound: UInt128
    var ratio: UInt128

    /// How many signed 4-bit windows the regular recoding needs below its top digit: the fewest n for
    /// which every odd digit magnitude below `bound` (so at most (bound − 1) | 1) leaves a top digit of
    /// at most 15. A recoding step takes odd v to (v >> 4) | 1, so after n steps (v >> 4n) | 1 is left:
    /// the top digit is odd and at least 1, and at most 15 exactly when v >> 4n is. G2's digits (below
    /// |x| ≈ 13.1·16¹⁵) need 15 windows and a top digit ≤ 13; G1's halves (below |x|² ≈ 10.7·16³¹) 31
    /// and ≤ 11. (The count was bits/4 + 1 before, a window more than any digit of that many bits needs:
    /// four doublings and an addition per base, with a top digit that was always 1.)
    static func regularWindows(magnitudeBelow bound: UInt128) -> Int {
        let largest = (bound &- 1) | 1
        var n = 1
        while largest >> UInt128(4 * n) >= 16 { n += 1 }
        return n
    }
}

enum ScalarMultiplication {
    /// Below this many points a multi-scalar multiplication interleaves the points' own GLV/GLS
    /// windows (one run of ~128 or ~64 doublings for all, a few additions per point and digit);
    /// Pippenger's buckets walk all 256 bits whatever the count, and pay off only for many points.
    static let strausLimit = 32

    /// Constant-time k·P for a secret k, as Σ dⱼ·Pⱼ over the digits of `split(k)` with Pⱼ = endomorphism(Pⱼ₋₁).
    ///
    /// Every digit is made odd, then recoded into signed odd 4-bit windows (Joye–Tunstall regular
    /// recoding: every window is one of ±1, ±3, …, ±15, so each window costs exactly one addition). One
    /// table of P, 3P, …, 15P is built with additions; the other bases' tables are its images under the
    /// endomorphism, which costs two or three field multiplications per entry instead of an addition.
    /// Table entries are read by scanning all eight with masked selects.
    ///
    /// Odd digits without corrections: the splits' first digit has k's parity (|x| is even), so the
    /// digits are those of the odd one of k and r − k, and the result is negated if it was r − k. Each
    /// later even digit dⱼ gets 1 added and dⱼ₋₁ gets `ratio` (even) subtracted: since Pⱼ = ratio·Pⱼ₋₁
    /// exactly, the sum and dⱼ₋₁'s parity stay, and the digits become signed with |dⱼ| < bound (a
    /// negative digit's windows are negated). This replaces a closing correction, one addition per
    /// even digit selected without branching, by nothing. All choices are masks, never branches. (k = 0
    /// has no odd representative; its result is replaced by the identity at the end.)
    static func regularWindowConstantTime<G: ProjectiveGroup>(
        _ base: G, _ scalar: Fr, split: (Fr) -> EndomorphismSplit, endomorphism: (G) -> G,
        endomorphismSquared: ((G) -> G)? = nil
    ) -> G {
        let scalarEven = 1 &- (scalar.canonicalLimbs.0 & 1)
        let split = split(Fr.select(scalar, -scalar, scalarEven))
        let bases = split.digits.count
        // Signed digits as magnitude and sign (G1's halves reach 1.3·2¹²⁷, beyond Int128). At step j,
        // dⱼ is still its unsigned self and dⱼ₋₁ is odd and at most ratio − 1 (an even digit is at most
        // bound − 2 before its increment, and ratio = bound), so dⱼ₋₁ − ratio = −(ratio − dⱼ₋₁), an odd
        // magnitude in 1…bound − 1. (Only k = 0 has an even d₀; its result is discarded.)
        precondition(split.ratio == split.bound && split.bound & 1 == 0)
        var magnitude = split.digits
        var negative = [UInt128](repeating: 0, count: bases)                  // all ones when negative
        for j in 1..<bases {
            let even = 1 &- (magnitude[j] & 1)
            let mask = 0 &- even
            magnitude[j] &+= even
            magnitude[j - 1] = (magnitude[j - 1] & ~mask) | ((split.ratio &- magnitude[j - 1]) & mask)
            negative[j - 1] = mask
        }
        // Every magnitude is now odd and below bound: dⱼ₋₁ was odd and at least 1 when it was negated.
        let windows = EndomorphismSplit.regularWindows(magnitudeBelow: split.bound) + 1
        let tables = endomorphismTables(base, entries: 8, bases: bases, endomorphism: endomorphism,
                                        endomorphismSquared: endomorphismSquared)
        // Recode every digit's magnitude and give the windows its sign; Int8 windows are secret and
        // only ever used through masks.
        var recoded = [Int8](repeating: 0, count: windows * bases)
        for j in 0..<bases {
            let flip = Int8(truncatingIfNeeded: negative[j])                     // −1 when negative
            var v = magnitude[j]
            for w in 0..<(windows - 1) {
                let k = Int8(truncatingIfNeeded: Int64(truncatingIfNeeded: v & 31) &- 16)   // odd, in −15…15
                recoded[j * windows + w] = (k ^ flip) &- flip
                v = v &- UInt128(truncatingIfNeeded: Int64(k))  // k < 0 wraps to an addition of |k|
                v >>= 4
            }
            // What is left is (v >> 4n) | 1, odd and at most 15 (see `regularWindows`): the top window.
            let top = Int8(truncatingIfNeeded: UInt64(truncatingIfNeeded: v))
            recoded[j * windows + windows - 1] = (top ^ flip) &- flip
        }
        @inline(__always) func lookup(_ j: Int, _ k: Int8) -> G {
            let s = Int64(k) >> 63                                       // −1 when negative
            let magnitude = UInt64(bitPattern: (Int64(k) ^ s) &- s)
            let index = (magnitude &- 1) >> 1
            var selected = tables[8 * j]
            for e in 1..<8 { selected = G.select(selected, tables[8 * j + e], isZeroWord(index ^ UInt64(e))) }
            return G.select(selected, -selected, UInt64(bitPattern: s) & 1)
        }
        var acc = lookup(0, recoded[windows - 1])
        for j in 1..<bases { acc = acc + lookup(j, recoded[j * windows + windows - 1]) }
        for w in stride(from: windows - 2, through: 0, by: -1) {
            acc = acc.doubled().doubled().doubled().doubled()
            for j in 0..<bases { acc = acc + lookup(j, recoded[j * windows + w]) }
        }
        acc = G.select(acc, -acc, scalarEven)
        return G.select(acc, G.identity, scalar.isZeroBit)
    }

    /// Variable-time Σ dⱼ·Pⱼ with Pⱼ = endomorphism(Pⱼ₋₁), for public digits: interleaved width-w NAF
    /// (Straus). Tables stay projective: for a handful of points one inversion costs more than mixed
    /// additions save; the tables after the first are endomorphism images.
    static func straus<G: ProjectiveGroup>(
        _ base: G, _ split: EndomorphismSplit, window: Int, endomorphism: (G) -> G,
        endomorphismSquared: ((G) -> G)? = nil
    ) -> G {
        straus([(base, split)], window: window, endomorphism: endomorphism, endomorphismSquared: endomorphismSquared)
    }

    /// Σ over several points of their splits' sums, with one shared run of doublings: a multi-scalar
    /// multiplication for a few public scalars, where Pippenger's buckets cost more than they save.
    static func straus<G: ProjectiveGroup>(
        _ terms: [(base: G, split: EndomorphismSplit)], window: Int, endomorphism: (G) -> G,
        endomorphismSquared: ((G) -> G)? = nil
    ) -> G {
        let half = 1 << (window - 2)
        var table: [G] = []
        var nafs: [[Int8]] = []
        for term in terms {
            table += endomorphismTables(term.base, entries: half, bases: term.split.digits.count, endomorphism: endomorphism,
                                        endomorphismSquared: endomorphismSquared)
            nafs += term.split.digits.map { wnaf($0, window: window) }
        }
        // The j-th NAF's table is table[j·half ..< (j + 1)·half].
        let maxLength = nafs.map(\.count).max() ?? 0
        var acc = G.identity
        for i in stride(from: maxLength - 1, through: 0, by: -1) {
            acc = acc.doubled()
            for j in nafs.indices where i < nafs[j].count {
                let d = Int(nafs[j][i])
                if d > 0 { acc = acc + table[j * half + (d >> 1)] } else if d < 0 { acc = acc + -table[j * half + ((-d) >> 1)] }
            }
        }
        return acc
    }

    /// `entries` odd multiples P, 3P, 5P, … of `base`, then the same for each further base Pⱼ =
    /// endomorphism(Pⱼ₋₁), one table after another. Only the first table costs additions; the others are
    /// endomorphism images, and where the squared endomorphism is cheaper (ψ² on G2 is a multiplication
    /// by an F_p constant, ψ a conjugation and two F_p² products) the tables from the third on are its
    /// images of the table two before.
    static func endomorphismTables<G: ProjectiveGroup>(
        _ base: G, entries: Int, bases: Int, endomorphism: (G) -> G, endomorphismSquared: ((G) -> G)?
    ) -> [G] {
        var tables = [G]()
        tables.reserveCapacity(entries * bases)
        let twice = base.doubled()
        tables.append(base)
        for i in 1..<entries { tables.append(tables[i - 1] + twice) }
        for j in 1..<bases {
            for i in 0..<entries {
                if j >= 2, let endomorphismSquared {
                    tables.append(endomorphismSquared(tables[entries * (j - 2) + i]))
                } else {
                    tables.append(endomorphism(tables[entries * (j - 1) + i]))
                }
            }
        }
        return tables
    }

    /// Constant-time multiplication without endomorphisms: 4-bit fixed window over all 256 bits, with
    /// a 16-entry table scanned in full. Kept as an independent reference for the tests.
    static func fixedWindowConstantTime<G: ProjectiveGroup>(_ point: G, _ k: Fr) -> G {
        var table = [G](repeating: .identity, count: 16)
        table[1] = point
        for i in 2..<16 { table[i] = (i & 1 == 0) ? table[i / 2].doubled() : table[i - 1] + point }
        let c = k.canonicalLimbs
        let words = [c.0, c.1, c.2, c.3]
        var acc = G.identity
        for wi in stride(from: 3, through: 0, by: -1) {
            for ni in stride(from: 15, through: 0, by: -1) {
                acc = acc.doubled().doubled().doubled().doubled()
                let nibble = (words[wi] >> UInt64(4 * ni)) & 0xf
                var selected = G.identity
                for j in 0..<16 { selected = G.select(selected, table[j], isZeroWord(nibble ^ UInt64(j))) }
                acc = acc + selected
            }
        }
        return acc
    }

    /// Pippenger bucket multi-scalar multiplication Σ kᵢ·Pᵢ. Variable time (public scalars only).
    static func pippenger<G: ProjectiveGroup>(_ points: [G], _ scalars: [Fr]) -> G {
        precondition(points.count == scalars.count, "points and scalars differ in number")
        let n = points.count
        if n < 4 {
            var acc = G.identity
            for i in 0..<n { acc = acc + points[i].mulVartime(scalars[i]) }
            return acc
        }
        let affine = G.batchNormalize(points)
        let c: Int = n < 32 ? 3 : (n < 256 ? 5 : (n < 4096 ? 8 : 11))
        let limbs = scalars.map { s -> [UInt64] in let l = s.canonicalLimbs; return [l.0, l.1, l.2, l.3] }
        let windows = (256 + c - 1) / c
        var result = G.identity
        for wi in stride(from: windows - 1, through: 0, by: -1) {
            for _ in 0..<c { result = result.doubled() }
            var buckets = [G](repeating: .identity, count: (1 << c) - 1)
            let bit = wi * c
            for i in 0..<n {
                var v: UInt64 = 0
                for b in 0..<c {
                    let position = bit + b
                    if position < 256 { v |= ((limbs[i][position >> 6] >> UInt64(position & 63)) & 1) << UInt64(b) }
                }
                if v != 0 { buckets[Int(v) - 1] = buckets[Int(v) - 1] + affine[i] }
            }
            var running = G.identity
            var sum = G.identity
            for j in stride(from: buckets.count - 1, through: 0, by: -1) {
                running = running + buckets[j]
                sum = sum + running
            }
            result = result + sum
        }
        return result
    }
}
