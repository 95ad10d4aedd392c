/// An element of the scalar field F_r of BLS12-381 (the order of G1, G2 and GT),
/// r = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001.
///
/// Four 64-bit limbs in Montgomery form (R = 2^256), always fully reduced.
public struct Fr: Sendable, Hashable {
    @usableFromInline var l0: UInt64
    @usableFromInline var l1: UInt64
    @usableFromInline var l2: UInt64
    @usableFromInline var l3: UInt64

    @inline(always)
    init(_ a: UInt64, _ b: UInt64, _ c: UInt64, _ d: UInt64) { l0 = a; l1 = b; l2 = c; l3 = d }

    @usableFromInline static let M0: UInt64 = 0xffffffff00000001
    @usableFromInline static let M1: UInt64 = 0x53bda402fffe5bfe
    @usableFromInline static let M2: UInt64 = 0x3339d80809a1d805
    @usableFromInline static let M3: UInt64 = 0x73eda753299d7d48
    @usableFromInline static let INV: UInt64 = 0xfffffffeffffffff

    public static let zero = Fr(0, 0, 0, 0)
    public static let one = Fr(0x00000001fffffffe, 0x5884b7fa00034802, 0x998c4fefecbc4ff5, 0x1824b159acc5056f)
    static let r2 = Fr(0xc999e990f3f29c6d, 0x2b6cedcb87925c23, 0x05d314967254398f, 0x0748d9d99f59ff11)
    static let r3 = Fr(0xc62c1807439b73af, 0x1b3e0d188cf06990, 0x73d13c71c7b5f418, 0x6e2a5bb9c8db33e9)

    @inline(always)
    static func reduceOnce(_ t0: UInt64, _ t1: UInt64, _ t2: UInt64, _ t3: UInt64) -> Fr {
        var b: UInt64
        let (s0, b0) = sbb(t0, M0, 0); b = b0
        let (s1, b1) = sbb(t1, M1, b); b = b1
        let (s2, b2) = sbb(t2, M2, b); b = b2
        let (s3, b3) = sbb(t3, M3, b); b = b3
        let keep = maskFromBit(b)
        return Fr((t0 & keep) | (s0 & ~keep), (t1 & keep) | (s1 & ~keep), (t2 & keep) | (s2 & ~keep), (t3 & keep) | (s3 & ~keep))
    }

    public var isZero: Bool { isZeroBit == 1 }
    @inline(always) var isZeroBit: UInt64 { isZeroWord(l0 | l1 | l2 | l3) }

    /// `b` when `choice` is 1, `a` when 0, without branching.
    @inline(always) static func select(_ a: Fr, _ b: Fr, _ choice: UInt64) -> Fr {
        let m = maskFromBit(choice)
        return Fr((a.l0 & ~m) | (b.l0 & m), (a.l1 & ~m) | (b.l1 & m), (a.l2 & ~m) | (b.l2 & m), (a.l3 & ~m) | (b.l3 & m))
    }

    public static func + (a: Fr, b: Fr) -> Fr {
        var c: UInt64
        let (t0, c0) = adc(a.l0, b.l0, 0); c = c0
        let (t1, c1) = adc(a.l1, b.l1, c); c = c1
        let (t2, c2) = adc(a.l2, b.l2, c); c = c2
        let (t3, _) = adc(a.l3, b.l3, c)
        return reduceOnce(t0, t1, t2, t3)
    }

    public static func - (a: Fr, b: Fr) -> Fr {
        var br: UInt64
        let (t0, b0) = sbb(a.l0, b.l0, 0); br = b0
        let (t1, b1) = sbb(a.l1, b.l1, br); br = b1
        let (t2, b2) = sbb(a.l2, b.l2, br); br = b2
        let (t3, b3) = sbb(a.l3, b.l3, br); br = b3
        let m = maskFromBit(br)
        var c: UInt64
        let (s0, c0) = adc(t0, M0 & m, 0); c = c0
        let (s1, c1) = adc(t1, M1 & m, c); c = c1
        let (s2, c2) = adc(t2, M2 & m, c); c = c2
        let (s3, _) = adc(t3, M3 & m, c)
        return Fr(s0, s1, s2, s3)
    }

    public static prefix func - (a: Fr) -> Fr { Fr.zero - a }

    public static func * (a: Fr, b: Fr) -> Fr {
        let a0 = a.l0, a1 = a.l1, a2 = a.l2, a3 = a.l3
        let b0 = b.l0, b1 = b.l1, b2 = b.l2, b3 = b.l3
        var t0: UInt64 = 0, t1: UInt64 = 0, t2: UInt64 = 0, t3: UInt64 = 0
        var m: UInt64, C: UInt64
        // round 0
        var A: UInt64
        (A, t0) = a0.multipliedFullWidth(by: b0)
        (A, t1) = madd1(a1, b0, A)
        (A, t2) = madd1(a2, b0, A)
        (A, t3) = madd1(a3, b0, A)
        m = t0 &* INV
        C = madd2Hi(m, M0, t0)
        (C, t0) = madd3(m, M1, t1, C)
        (C, t1) = madd3(m, M2, t2, C)
        (C, t2) = madd3(m, M3, t3, C)
        t3 = C &+ A
        // round 1
        (A, t0) = madd2(a0, b1, t0)
        (A, t1) = madd3(a1, b1, t1, A)
        (A, t2) = madd3(a2, b1, t2, A)
        (A, t3) = madd3(a3, b1, t3, A)
        m = t0 &* INV
        C = madd2Hi(m, M0, t0)
        (C, t0) = madd3(m, M1, t1, C)
        (C, t1) = madd3(m, M2, t2, C)
        (C, t2) = madd3(m, M3, t3, C)
        t3 = C &+ A
        // round 2
        (A, t0) = madd2(a0, b2, t0)
        (A, t1) = madd3(a1, b2, t1, A)
        (A, t2) = madd3(a2, b2, t2, A)
        (A, t3) = madd3(a3, b2, t3, A)
        m = t0 &* INV
        C = madd2Hi(m, M0, t0)
        (C, t0) = madd3(m, M1, t1, C)
        (C, t1) = madd3(m, M2, t2, C)
        (C, t2) = madd3(m, M3, t3, C)
        t3 = C &+ A
        // round 3
        (A, t0) = madd2(a0, b3, t0)
        (A, t1) = madd3(a1, b3, t1, A)
        (A, t2) = madd3(a2, b3, t2, A)
        (A, t3) = madd3(a3, b3, t3, A)
        m = t0 &* INV
        C = madd2Hi(m, M0, t0)
        (C, t0) = madd3(m, M1, t1, C)
        (C, t1) = madd3(m, M2, t2, C)
        (C, t2) = madd3(m, M3, t3, C)
        t3 = C &+ A
        return reduceOnce(t0, t1, t2, t3)
    }

    public static func += (a: inout Fr, b: Fr) { a = a + b }
    public static func -= (a: inout Fr, b: Fr) { a = a - b }
    public static func *= (a: inout Fr, b: Fr) { a = a * b }

    /// Multiplicative inverse (Fermat, constant time); zero maps to zero.
    public func inverse() -> Fr {
        let e: [UInt64] = [0xfffffffeffffffff, 0x53bda402fffe5bfe, 0x3339d80809a1d805, 0x73eda753299d7d48]
        var res = Fr.one
        for w in e.reversed() {
            for i in stride(from: 63, through: 0, by: -1) {
                res = res * res
                if (w >> UInt64(i)) & 1 == 1 { res = res * self }
            }
        }
        return res
    }

    /// Canonical little-endian limbs (leaves Montgomery form).
    public var canonicalLimbs: (UInt64, UInt64, UInt64, UInt64) {
        let c = self * Fr(1, 0, 0, 0)
        return (c.l0, c.l1, c.l2, c.l3)
    }

    init(canonical l: (UInt64, UInt64, UInt64, UInt64)) { self = Fr(l.0, l.1, l.2, l.3) * Fr.r2 }

    public init(_ v: UInt64) { self.init(canonical: (v, 0, 0, 0)) }

    /// Canonical 32-byte big-endian encoding.
    public var bytes: [UInt8] {
        let c = canonicalLimbs
        var out = [UInt8](); out.reserveCapacity(32)
        for w in [c.3, c.2, c.1, c.0] { for s in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: w >> UInt64(s))) } }
        return out
    }

    /// Parses a canonical 32-byte big-endian scalar; nil when the length is wrong or the value is ≥ r.
    public init?<B: Collection>(bytes: B) where B.Element == UInt8 {
        guard bytes.count == 32 else { return nil }
        var ls = [UInt64](repeating: 0, count: 4)
        var i = 0
        for b in bytes { ls[3 - i / 8] = (ls[3 - i / 8] << 8) | UInt64(b); i += 1 }
        var br: UInt64 = 0
        (_, br) = sbb(ls[0], Fr.M0, 0)
        (_, br) = sbb(ls[1], Fr.M1, br)
        (_, br) = sbb(ls[2], Fr.M2, br)
        (_, br) = sbb(ls[3], Fr.M3, br)
        guard br == 1 else { return nil }
        self.init(canonical: (ls[0], ls[1], ls[2], ls[3]))
    }

    /// Reduces 32 big-endian bytes modulo r (any value accepted).
    static func reducing32(_ b: ArraySlice<UInt8>) -> Fr {
        var ls = [UInt64](repeating: 0, count: 4)
        var i = 0
        for x in b { ls[3 - i / 8] = (ls[3 - i / 8] << 8) | UInt64(x); i += 1 }
        // 2^256 < 3r: at most two subtractions.
        var v = Fr(ls[0], ls[1], ls[2], ls[3])
        v = reduceOnce(v.l0, v.l1, v.l2, v.l3)
        v = reduceOnce(v.l0, v.l1, v.l2, v.l3)
        return v // canonical, not yet Montgomery
    }

    /// Uniform scalar from 64 bytes (big-endian 512-bit integer reduced mod r; bias < 2^-250).
    public init<B: Collection>(wideBytes: B) where B.Element == UInt8 {
        let a = Array(wideBytes)
        precondition(a.count == 64, "wideBytes needs 64 bytes")
        let hi = Fr.reducing32(a[0..<32])
        let lo = Fr.reducing32(a[32..<64])
        // lo·R (Montgomery form of lo) + hi·2^256·R = mul(lo, R²) + mul(hi, R³)
        self = lo * Fr.r2 + hi * Fr.r3
    }

    /// Uniformly random scalar from the system CSPRNG (wide reduction of 64 bytes).
    public static func random() -> Fr {
        var g = SystemRandomNumberGenerator()
        return random(using: &g)
    }

    public static func random<G: RandomNumberGenerator>(using g: inout G) -> Fr {
        var bytes = [UInt8](repeating: 0, count: 64)
        for i in 0..<8 {
            let w = g.next()
            for j in 0..<8 { bytes[i * 8 + j] = UInt8(truncatingIfNeeded: w >> UInt64(8 * j)) }
        }
        return Fr(wideBytes: bytes)
    }

    /// Scalar from a hash output: wide reduction of exactly 64 bytes (e.g. SHA-512 or two SHA-256 blocks).
    public static func fromHash<B: Collection>(_ digest64: B) -> Fr where B.Element == UInt8 { Fr(wideBytes: digest64) }
}

extension Fr: CustomStringConvertible {
    public var description: String { Hex.encode(bytes) }
}
