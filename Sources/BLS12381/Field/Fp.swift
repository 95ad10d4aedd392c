/// An element of the base field F_p of BLS12-381, p = 0x1a0111ea…ffffaaab (381 bits).
///
/// Six 64-bit limbs, little-endian, always fully reduced and kept in Montgomery form (a·R mod p,
/// R = 2^384). Plain stored words: no arrays, no heap, no reference counting in arithmetic.
public struct Fp: Sendable {
    @usableFromInline var l0: UInt64
    @usableFromInline var l1: UInt64
    @usableFromInline var l2: UInt64
    @usableFromInline var l3: UInt64
    @usableFromInline var l4: UInt64
    @usableFromInline var l5: UInt64

    @inline(always)
    init(montgomeryLimbs l: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)) {
        l0 = l.0; l1 = l.1; l2 = l.2; l3 = l.3; l4 = l.4; l5 = l.5
    }

    @inline(always)
    init(_ a: UInt64, _ b: UInt64, _ c: UInt64, _ d: UInt64, _ e: UInt64, _ f: UInt64) {
        l0 = a; l1 = b; l2 = c; l3 = d; l4 = e; l5 = f
    }

    // p, little-endian limbs
    @usableFromInline static let M0: UInt64 = 0xb9feffffffffaaab
    @usableFromInline static let M1: UInt64 = 0x1eabfffeb153ffff
    @usableFromInline static let M2: UInt64 = 0x6730d2a0f6b0f624
    @usableFromInline static let M3: UInt64 = 0x64774b84f38512bf
    @usableFromInline static let M4: UInt64 = 0x4b1ba7b6434bacd7
    @usableFromInline static let M5: UInt64 = 0x1a0111ea397fe69a
    /// -p^{-1} mod 2^64
    @usableFromInline static let INV: UInt64 = 0x89f3fffcfffcfffd

    public static let zero = Fp(0, 0, 0, 0, 0, 0)
    public static let one = Fp(0x760900000002fffd, 0xebf4000bc40c0002, 0x5f48985753c758ba, 0x77ce585370525745, 0x5c071a97a256ec6d, 0x15f65ec3fa80e493)
    /// R^2 mod p, used to enter Montgomery form.
    @usableFromInline static let r2 = Fp(0xf4df1f341c341746, 0x0a76e6a609d104f1, 0x8de5476c4c95b6d5, 0x67eb88a9939d83c0, 0x9a793e85b519952d, 0x11988fe592cae3aa)

    // MARK: Constant-time primitives

    /// Subtracts p if the 6-limb value (plus carry word `hi`) is ≥ p. Branch-free.
    @inline(always)
    static func reduceOnce(_ t0: UInt64, _ t1: UInt64, _ t2: UInt64, _ t3: UInt64, _ t4: UInt64, _ t5: UInt64, hi: UInt64 = 0) -> Fp {
        var b: UInt64
        let (s0, b0) = sbb(t0, M0, 0); b = b0
        let (s1, b1) = sbb(t1, M1, b); b = b1
        let (s2, b2) = sbb(t2, M2, b); b = b2
        let (s3, b3) = sbb(t3, M3, b); b = b3
        let (s4, b4) = sbb(t4, M4, b); b = b4
        let (s5, b5) = sbb(t5, M5, b); b = b5
        let (_, bf) = sbb(hi, 0, b)
        // bf == 1 means t < p: keep t
        let keep = maskFromBit(bf)
        return Fp((t0 & keep) | (s0 & ~keep), (t1 & keep) | (s1 & ~keep), (t2 & keep) | (s2 & ~keep),
                  (t3 & keep) | (s3 & ~keep), (t4 & keep) | (s4 & ~keep), (t5 & keep) | (s5 & ~keep))
    }

    /// Returns `b` when `choice` is 1 and `a` when 0, without branching.
    @inline(always)
    static func select(_ a: Fp, _ b: Fp, _ choice: UInt64) -> Fp {
        let m = maskFromBit(choice)
        return Fp(a.l0 ^ (m & (a.l0 ^ b.l0)), a.l1 ^ (m & (a.l1 ^ b.l1)), a.l2 ^ (m & (a.l2 ^ b.l2)),
                  a.l3 ^ (m & (a.l3 ^ b.l3)), a.l4 ^ (m & (a.l4 ^ b.l4)), a.l5 ^ (m & (a.l5 ^ b.l5)))
    }

    /// 1 if zero, else 0 (constant time).
    @inline(always)
    var isZeroBit: UInt64 { isZeroWord(l0 | l1 | l2 | l3 | l4 | l5) }

    public var isZero: Bool { isZeroBit == 1 }

    /// 1 if equal, else 0 (constant time).
    @inline(always)
    func equalBit(_ o: Fp) -> UInt64 {
        isZeroWord((l0 ^ o.l0) | (l1 ^ o.l1) | (l2 ^ o.l2) | (l3 ^ o.l3) | (l4 ^ o.l4) | (l5 ^ o.l5))
    }

    // MARK: Arithmetic

    @inline(always)
    static func add(_ a: Fp, _ b: Fp) -> Fp {
        let t = addUnreduced(a, b)
        return reduceOnce(t.l0, t.l1, t.l2, t.l3, t.l4, t.l5)
    }

    /// a + b without the final subtraction, for lazy reduction: below 2p when a, b < p, and p < 2^382
    /// keeps the sum inside six limbs. Only products reduced through `FpWide` may take such inputs.
    @inline(always)
    static func addUnreduced(_ a: Fp, _ b: Fp) -> Fp {
        var c: UInt64
        let (t0, c0) = adc(a.l0, b.l0, 0); c = c0
        let (t1, c1) = adc(a.l1, b.l1, c); c = c1
        let (t2, c2) = adc(a.l2, b.l2, c); c = c2
        let (t3, c3) = adc(a.l3, b.l3, c); c = c3
        let (t4, c4) = adc(a.l4, b.l4, c); c = c4
        let (t5, _) = adc(a.l5, b.l5, c)
        return Fp(t0, t1, t2, t3, t4, t5)
    }

    @inline(always)
    static func sub(_ a: Fp, _ b: Fp) -> Fp {
        var br: UInt64
        let (t0, b0) = sbb(a.l0, b.l0, 0); br = b0
        let (t1, b1) = sbb(a.l1, b.l1, br); br = b1
        let (t2, b2) = sbb(a.l2, b.l2, br); br = b2
        let (t3, b3) = sbb(a.l3, b.l3, br); br = b3
        let (t4, b4) = sbb(a.l4, b.l4, br); br = b4
        let (t5, b5) = sbb(a.l5, b.l5, br); br = b5
        let m = maskFromBit(br)
        var c: UInt64
        let (s0, c0) = adc(t0, M0 & m, 0); c = c0
        let (s1, c1) = adc(t1, M1 & m, c); c = c1
        let (s2, c2) = adc(t2, M2 & m, c); c = c2
        let (s3, c3) = adc(t3, M3 & m, c); c = c3
        let (s4, c4) = adc(t4, M4 & m, c); c = c4
        let (s5, _) = adc(t5, M5 & m, c)
        return Fp(s0, s1, s2, s3, s4, s5)
    }

    @inline(always)
    static func neg(_ a: Fp) -> Fp {
        var br: UInt64
        let (t0, b0) = sbb(M0, a.l0, 0); br = b0
        let (t1, b1) = sbb(M1, a.l1, br); br = b1
        let (t2, b2) = sbb(M2, a.l2, br); br = b2
        let (t3, b3) = sbb(M3, a.l3, br); br = b3
        let (t4, b4) = sbb(M4, a.l4, br); br = b4
        let (t5, _) = sbb(M5, a.l5, br)
        let m = ~maskFromBit(a.isZeroBit)
        return Fp(t0 & m, t1 & m, t2 & m, t3 & m, t4 & m, t5 & m)
    }

    /// Montgomery product a·b·R^{-1} mod p: no-carry CIOS (valid because p's top word < 2^63 - 1).
    /// The portable path; `mul` takes the mulx kernel instead where the CPU has one.
    @inline(always)
    static func mulPortable(_ a: Fp, _ b: Fp) -> Fp {
        let a0 = a.l0, a1 = a.l1, a2 = a.l2, a3 = a.l3, a4 = a.l4, a5 = a.l5
        let b0 = b.l0, b1 = b.l1, b2 = b.l2, b3 = b.l3, b4 = b.l4, b5 = b.l5
        var t0: UInt64 = 0, t1: UInt64 = 0, t2: UInt64 = 0, t3: UInt64 = 0, t4: UInt64 = 0, t5: UInt64 = 0
        var m: UInt64, C: UInt64
        // round 0
        var A: UInt64
        (A, t0) = a0.multipliedFullWidth(by: b0)
        (A, t1) = madd1(a1, b0, A)
        (A, t2) = madd1(a2, b0, A)
        (A, t3) = madd1(a3, b0, A)
        (A, t4) = madd1(a4, b0, A)
        (A, t5) = madd1(a5, b0, A)
        m = t0 &* INV
        C = madd2Hi(m, M0, t0)
        (C, t0) = madd3(m, M1, t1, C)
        (C, t1) = madd3(m, M2, t2, C)
        (C, t2) = madd3(m, M3, t3, C)
        (C, t3) = madd3(m, M4, t4, C)
        (C, t4) = madd3(m, M5, t5, C)
        t5 = C &+ A
        // round 1
        (A, t0) = madd2(a0, b1, t0)
        (A, t1) = madd3(a1, b1, t1, A)
        (A, t2) = madd3(a2, b1, t2, A)
        (A, t3) = madd3(a3, b1, t3, A)
        (A, t4) = madd3(a4, b1, t4, A)
        (A, t5) = madd3(a5, b1, t5, A)
        m = t0 &* INV
        C = madd2Hi(m, M0, t0)
        (C, t0) = madd3(m, M1, t1, C)
        (C, t1) = madd3(m, M2, t2, C)
        (C, t2) = madd3(m, M3, t3, C)
        (C, t3) = madd3(m, M4, t4, C)
        (C, t4) = madd3(m, M5, t5, C)
        t5 = C &+ A
        // round 2
        (A, t0) = madd2(a0, b2, t0)
        (A, t1) = madd3(a1, b2, t1, A)
        (A, t2) = madd3(a2, b2, t2, A)
        (A, t3) = madd3(a3, b2, t3, A)
        (A, t4) = madd3(a4, b2, t4, A)
        (A, t5) = madd3(a5, b2, t5, A)
        m = t0 &* INV
        C = madd2Hi(m, M0, t0)
        (C, t0) = madd3(m, M1, t1, C)
        (C, t1) = madd3(m, M2, t2, C)
        (C, t2) = madd3(m, M3, t3, C)
        (C, t3) = madd3(m, M4, t4, C)
        (C, t4) = madd3(m, M5, t5, C)
        t5 = C &+ A
        // round 3
        (A, t0) = madd2(a0, b3, t0)
        (A, t1) = madd3(a1, b3, t1, A)
        (A, t2) = madd3(a2, b3, t2, A)
        (A, t3) = madd3(a3, b3, t3, A)
        (A, t4) = madd3(a4, b3, t4, A)
        (A, t5) = madd3(a5, b3, t5, A)
        m = t0 &* INV
        C = madd2Hi(m, M0, t0)
        (C, t0) = madd3(m, M1, t1, C)
        (C, t1) = madd3(m, M2, t2, C)
        (C, t2) = madd3(m, M3, t3, C)
        (C, t3) = madd3(m, M4, t4, C)
        (C, t4) = madd3(m, M5, t5, C)
        t5 = C &+ A
        // round 4
        (A, t0) = madd2(a0, b4, t0)
        (A, t1) = madd3(a1, b4, t1, A)
        (A, t2) = madd3(a2, b4, t2, A)
        (A, t3) = madd3(a3, b4, t3, A)
        (A, t4) = madd3(a4, b4, t4, A)
        (A, t5) = madd3(a5, b4, t5, A)
        m = t0 &* INV
        C = madd2Hi(m, M0, t0)
        (C, t0) = madd3(m, M1, t1, C)
        (C, t1) = madd3(m, M2, t2, C)
        (C, t2) = madd3(m, M3, t3, C)
        (C, t3) = madd3(m, M4, t4, C)
        (C, t4) = madd3(m, M5, t5, C)
        t5 = C &+ A
        // round 5
        (A, t0) = madd2(a0, b5, t0)
        (A, t1) = madd3(a1, b5, t1, A)
        (A, t2) = madd3(a2, b5, t2, A)
        (A, t3) = madd3(a3, b5, t3, A)
        (A, t4) = madd3(a4, b5, t4, A)
        (A, t5) = madd3(a5, b5, t5, A)
        m = t0 &* INV
        C = madd2Hi(m, M0, t0)
        (C, t0) = madd3(m, M1, t1, C)
        (C, t1) = madd3(m, M2, t2, C)
        (C, t2) = madd3(m, M3, t3, C)
        (C, t3) = madd3(m, M4, t4, C)
        (C, t4) = madd3(m, M5, t5, C)
        t5 = C &+ A
        return reduceOnce(t0, t1, t2, t3, t4, t5)
    }

    @inline(always) static func + (a: Fp, b: Fp) -> Fp { add(a, b) }
    @inline(always) static func - (a: Fp, b: Fp) -> Fp { sub(a, b) }
    @inline(always) static func * (a: Fp, b: Fp) -> Fp { mul(a, b) }
    @inline(always) static prefix func - (a: Fp) -> Fp { neg(a) }
    @inline(always) static func += (a: inout Fp, b: Fp) { a = add(a, b) }
    @inline(always) static func -= (a: inout Fp, b: Fp) { a = sub(a, b) }
    @inline(always) static func *= (a: inout Fp, b: Fp) { a = mul(a, b) }

    @inline(always) func squared() -> Fp { Fp.square(self) }
    @inline(always) func doubled() -> Fp { Fp.add(self, self) }

    /// self^e for a public exponent given as little-endian limbs: 5-bit sliding window over the
    /// exponent bits (the exponent is a public constant; the base may be secret and is not branched on).
    @usableFromInline
    func pow(_ e: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)) -> Fp {
        let words = [e.0, e.1, e.2, e.3, e.4, e.5]
        @inline(__always) func bit(_ i: Int) -> Int { Int((words[i >> 6] >> UInt64(i & 63)) & 1) }
        // odd powers self^1, ^3, …, ^31
        let sq = self.squared()
        var table = [self]
        for _ in 1..<16 { table.append(table[table.count - 1] * sq) }
        var top = 383
        while top >= 0 && bit(top) == 0 { top -= 1 }
        var res = Fp.one
        var started = false
        var i = top
        while i >= 0 {
            if bit(i) == 0 {
                res = res.squared(); i -= 1; continue
            }
            var j = max(i - 4, 0)
            while bit(j) == 0 { j += 1 }
            var v = 0
            for b in stride(from: i, through: j, by: -1) { v = (v << 1) | bit(b) }
            if started { for _ in 0...(i - j) { res = res.squared() } }
            res = started ? res * table[v >> 1] : table[v >> 1]
            started = true
            i = j - 1
        }
        return res
    }

    /// Multiplicative inverse by Fermat's little theorem (constant time; 0 maps to 0).
    public func inverse() -> Fp {
        pow((0xb9feffffffffaaa9, 0x1eabfffeb153ffff, 0x6730d2a0f6b0f624, 0x64774b84f38512bf, 0x4b1ba7b6434bacd7, 0x1a0111ea397fe69a))
    }

    /// Legendre symbol computed as self^((p-1)/2): 1 for non-zero squares, p-1 for non-squares.
    @usableFromInline
    func legendre() -> Fp {
        pow((0xdcff7fffffffd555, 0x0f55ffff58a9ffff, 0xb39869507b587b12, 0xb23ba5c279c2895f, 0x258dd3db21a5d66b, 0x0d0088f51cbff34d))
    }

    /// True when self is a square (zero counts as a square).
    public var isSquare: Bool {
        let l = legendre()
        return l.equalBit(.one) | isZeroBit == 1
    }

    /// Square root via self^((p+1)/4) (p ≡ 3 mod 4); nil when self is not a square.
    public func sqrt() -> Fp? {
        let s = pow((0xee7fbfffffffeaab, 0x07aaffffac54ffff, 0xd9cc34a83dac3d89, 0xd91dd2e13ce144af, 0x92c6e9ed90d2eb35, 0x0680447a8e5ff9a6))
        return s.squared() == self ? s : nil
    }

    // MARK: Conversion

    /// Leaves Montgomery form: canonical little-endian limbs.
    @usableFromInline
    var canonicalLimbs: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) {
        let c = Fp.mul(self, Fp(1, 0, 0, 0, 0, 0))
        return (c.l0, c.l1, c.l2, c.l3, c.l4, c.l5)
    }

    /// Builds an element from canonical limbs that are already known to be < p.
    @usableFromInline
    init(canonical l: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)) {
        self = Fp.mul(Fp(montgomeryLimbs: l), Fp.r2)
    }

    public init(_ v: UInt64) { self.init(canonical: (v, 0, 0, 0, 0, 0)) }

    /// Parity of the canonical value (RFC 9380 sgn0 for F_p).
    public var sgn0: UInt64 { canonicalLimbs.0 & 1 }

    /// Canonical 48-byte big-endian encoding.
    public var bytes: [UInt8] {
        let c = canonicalLimbs
        let ls = [c.5, c.4, c.3, c.2, c.1, c.0]
        var out = [UInt8](); out.reserveCapacity(48)
        for w in ls { for s in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: w >> UInt64(s))) } }
        return out
    }

    /// Parses 48 big-endian bytes; nil when the length is wrong or the value is ≥ p.
    public init?<B: Collection>(bytes: B) where B.Element == UInt8 {
        guard bytes.count == 48 else { return nil }
        var ls = [UInt64](repeating: 0, count: 6)
        var i = 0
        for b in bytes { ls[5 - i / 8] = (ls[5 - i / 8] << 8) | UInt64(b); i += 1 }
        // constant-time check value < p
        var br: UInt64 = 0
        (_, br) = sbb(ls[0], Fp.M0, 0)
        (_, br) = sbb(ls[1], Fp.M1, br)
        (_, br) = sbb(ls[2], Fp.M2, br)
        (_, br) = sbb(ls[3], Fp.M3, br)
        (_, br) = sbb(ls[4], Fp.M4, br)
        (_, br) = sbb(ls[5], Fp.M5, br)
        guard br == 1 else { return nil }
        self.init(canonical: (ls[0], ls[1], ls[2], ls[3], ls[4], ls[5]))
    }

    /// Reduces a 64-byte big-endian integer modulo p (used by hash_to_field).
    static func fromWideBytes(_ b: [UInt8]) -> Fp {
        precondition(b.count == 64)
        // value = hi * 2^384 + lo, hi = first 16 bytes, lo = last 48 bytes (both < p after one step).
        var lo = [UInt64](repeating: 0, count: 6)
        for i in 0..<48 { lo[5 - i / 8] = (lo[5 - i / 8] << 8) | UInt64(b[16 + i]) }
        var hi0: UInt64 = 0, hi1: UInt64 = 0
        for i in 0..<8 { hi1 = (hi1 << 8) | UInt64(b[i]) }
        for i in 8..<16 { hi0 = (hi0 << 8) | UInt64(b[i]) }
        // lo < 2^384 < 12p: reduce by converting via Montgomery: lo·R^2·R^{-1} handles any lo < 2^384 since the CIOS bound holds for a < 2^384, b < p.
        let loF = Fp.reduceFull(lo)
        let hiF = Fp(canonical: (hi0, hi1, 0, 0, 0, 0))
        // hi * 2^384 = hi * R  → Montgomery form of (hi·R) is hi·R·R = mul(hiF, r2)
        return loF + Fp.mul(hiF, Fp.r2)
    }

    /// Reduces any 6-limb value (< 2^384) to canonical and returns it in Montgomery form.
    static func reduceFull(_ l: [UInt64]) -> Fp {
        var v = Fp(l[0], l[1], l[2], l[3], l[4], l[5])
        // 2^384 / p < 10: subtract p at most 10 times (public data, but do it branch-free anyway).
        for _ in 0..<10 { v = reduceOnce(v.l0, v.l1, v.l2, v.l3, v.l4, v.l5) }
        return Fp(canonical: (v.l0, v.l1, v.l2, v.l3, v.l4, v.l5))
    }
}

extension Fp: Equatable {
    public static func == (a: Fp, b: Fp) -> Bool { a.equalBit(b) == 1 }
}

extension Fp: CustomStringConvertible {
    public var description: String { Hex.encode(bytes) }
}

extension Fp {
    // Public arithmetic entry points (the operators are internal so that they can be force-inlined).
    public func multiplied(by other: Fp) -> Fp { Fp.mul(self, other) }
    public func adding(_ other: Fp) -> Fp { Fp.add(self, other) }
    public func subtracting(_ other: Fp) -> Fp { Fp.sub(self, other) }
    public func negated() -> Fp { Fp.neg(self) }
}
