/// An element of GT, the order-r subgroup of F_p¹²* that pairings land in. Written multiplicatively.
///
/// Every GT value is unitary (it lies in the cyclotomic subgroup), so the inverse is the conjugate and
/// squaring uses the Granger–Scott formulas.
public struct GT: Sendable, Equatable {
    @usableFromInline var value: Fp12

    init(unchecked value: Fp12) { self.value = value }

    public static let one = GT(unchecked: .one)

    public var isOne: Bool { value == .one }

    public static func * (a: GT, b: GT) -> GT { GT(unchecked: a.value * b.value) }
    public static func *= (a: inout GT, b: GT) { a = a * b }

    /// Inverse (the conjugate, since GT elements are unitary).
    public func inverse() -> GT { GT(unchecked: value.conjugate()) }

    public static func == (a: GT, b: GT) -> Bool { a.value == b.value }

    /// self^k for a secret scalar: constant-time split k = Σ dᵢ·|x|ⁱ (branch-free division), bases
    /// g^(|x|ⁱ) = (conj∘Frobenius)ⁱ(g), then a 4-base 4-bit fixed window over 64 bits: 64 cyclotomic
    /// squarings and 64 multiplications by table entries chosen with full masked scans.
    public func powConstantTime(_ k: Fr) -> GT {
        let (d0, d1, d2, d3) = ScalarDecomposition.baseZConstantTime(k)
        let digits = [d0, d1, d2, d3]
        var table = [Fp12]()
        table.reserveCapacity(64)
        var base = value
        for j in 0..<4 {
            if j > 0 { base = base.frobenius(1).conjugate() }
            table.append(.one)
            table.append(base)
            for i in 2..<16 { table.append((i & 1 == 0) ? table[16 * j + i / 2].cyclotomicSquared() : table[16 * j + i - 1] * base) }
        }
        var acc = Fp12.one
        for w in stride(from: 15, through: 0, by: -1) {
            acc = acc.cyclotomicSquared().cyclotomicSquared().cyclotomicSquared().cyclotomicSquared()
            for j in 0..<4 {
                let nib = (digits[j] >> UInt64(4 * w)) & 0xf
                var sel = Fp12.one
                for e in 0..<16 { sel = Fp12.select(sel, table[16 * j + e], isZeroWord(nib ^ UInt64(e))) }
                acc = acc * sel
            }
        }
        return GT(unchecked: acc)
    }

    /// Constant-time exponentiation without the Frobenius split (reference for tests).
    func powConstantTimeGeneric(_ k: Fr) -> GT {
        var table = [Fp12](repeating: .one, count: 16)
        table[1] = value
        for i in 2..<16 { table[i] = (i & 1 == 0) ? table[i / 2].cyclotomicSquared() : table[i - 1] * value }
        let c = k.canonicalLimbs
        let words = [c.0, c.1, c.2, c.3]
        var acc = Fp12.one
        for wi in stride(from: 3, through: 0, by: -1) {
            let w = words[wi]
            for ni in stride(from: 15, through: 0, by: -1) {
                acc = acc.cyclotomicSquared().cyclotomicSquared().cyclotomicSquared().cyclotomicSquared()
                let nib = (w >> UInt64(4 * ni)) & 0xf
                var sel = Fp12.one
                for j in 0..<16 { sel = Fp12.select(sel, table[j], isZeroWord(nib ^ UInt64(j))) }
                acc = acc * sel
            }
        }
        return GT(unchecked: acc)
    }

    /// self^k for a public scalar: k = Σ dᵢ·|x|ⁱ and g^|x| = conj(g^p) on GT, so four 64-bit exponents
    /// are processed together (interleaved width-4 signed windows; negation is conjugation).
    public func powVartime(_ k: Fr) -> GT {
        let (d0, d1, d2, d3) = ScalarDecomposition.baseZ(k)
        var bases = [value]
        for _ in 1..<4 { bases.append(bases[bases.count - 1].frobenius(1).conjugate()) }
        let window = 4
        let half = 1 << (window - 2)
        var tables = [[Fp12]]()
        for b in bases {
            let sq = b.cyclotomicSquared()
            var t = [b]
            for _ in 1..<half { t.append(t[t.count - 1] * sq) }
            tables.append(t)
        }
        let nafs = [d0, d1, d2, d3].map { wnaf(UInt128($0), window: window) }
        let maxLen = nafs.map(\.count).max() ?? 0
        var acc = Fp12.one
        for i in stride(from: maxLen - 1, through: 0, by: -1) {
            acc = acc.cyclotomicSquared()
            for j in 0..<4 where i < nafs[j].count {
                let d = Int(nafs[j][i])
                if d > 0 { acc = acc * tables[j][d >> 1] } else if d < 0 { acc = acc * tables[j][(-d) >> 1].conjugate() }
            }
        }
        return GT(unchecked: acc)
    }

    /// 576-byte encoding: F_p² coefficients in the order (w⁰: v⁰, v¹, v²), (w¹: v⁰, v¹, v²), each as
    /// c0 then c1, each F_p element 48 bytes big-endian (the order of the shared vector file).
    public var bytes: [UInt8] {
        var out = [UInt8](); out.reserveCapacity(576)
        for c in GT.coefficients(value) { out += c.c0.bytes; out += c.c1.bytes }
        return out
    }

    static func coefficients(_ v: Fp12) -> [Fp2] { [v.c0.c0, v.c0.c1, v.c0.c2, v.c1.c0, v.c1.c1, v.c1.c2] }

    /// Strict decoding: 576 bytes, every F_p element canonical (< p), and the element of order r
    /// (checked as g^r == 1, which also rules out zero and elements outside the cyclotomic subgroup).
    public init(bytes: [UInt8]) throws(BLS12381Error) {
        guard bytes.count == 576 else { throw .invalidLength }
        var fs = [Fp]()
        for i in 0..<12 {
            guard let f = Fp(bytes: bytes[(48 * i)..<(48 * (i + 1))]) else { throw .coordinateNotCanonical }
            fs.append(f)
        }
        let v = Fp12(c0: Fp6(c0: Fp2(c0: fs[0], c1: fs[1]), c1: Fp2(c0: fs[2], c1: fs[3]), c2: Fp2(c0: fs[4], c1: fs[5])),
                     c1: Fp6(c0: Fp2(c0: fs[6], c1: fs[7]), c1: Fp2(c0: fs[8], c1: fs[9]), c2: Fp2(c0: fs[10], c1: fs[11])))
        guard GT.hasOrderR(v) else { throw .notInSubgroup }
        self.value = v
    }

    /// Order-r test: first v ∈ G_Φ₁₂(p) (v^(p⁴) · v == v^(p²), Frobenius only), which makes Granger–Scott
    /// squaring valid, then v^r == 1 with a 4-bit fixed window of cyclotomic squarings. Zero and elements
    /// outside the cyclotomic subgroup fail.
    static func hasOrderR(_ v: Fp12) -> Bool {
        let f2 = v.frobenius(2)
        guard f2.frobenius(2) * v == f2 else { return false }
        let r: [UInt64] = [0xffffffff00000001, 0x53bda402fffe5bfe, 0x3339d80809a1d805, 0x73eda753299d7d48]
        var table = [Fp12](repeating: .one, count: 16)
        table[1] = v
        for i in 2..<16 { table[i] = (i & 1 == 0) ? table[i / 2].cyclotomicSquared() : table[i - 1] * v }
        var acc = Fp12.one
        for wi in stride(from: 3, through: 0, by: -1) {
            for ni in stride(from: 15, through: 0, by: -1) {
                acc = acc.cyclotomicSquared().cyclotomicSquared().cyclotomicSquared().cyclotomicSquared()
                let nib = Int((r[wi] >> UInt64(4 * ni)) & 0xf)
                if nib != 0 { acc = acc * table[nib] }
            }
        }
        return acc == .one
    }
}

/// The reduced optimal-ate pairing e(P, Q) = f_{|x|,Q}(P)^((p¹²−1)/r). The value is exactly the one py_ecc
/// returns (the shared vectors' GT values): final exponent exactly (p¹²−1)/r and no conjugation for the
/// sign of x (a library that conjugates for x < 0 returns the inverse of this value).
public func pairing(_ p: G1Affine, _ q: G2Affine) -> GT {
    GT(unchecked: FinalExponentiation.apply(MillerLoop.run([(p, q)])))
}

/// Π e(Pᵢ, Qᵢ) with one shared Miller loop (one squaring per step for all pairs) and ONE final exponentiation.
public func multiPairing(_ pairs: [(G1Affine, G2Affine)]) -> GT {
    GT(unchecked: FinalExponentiation.apply(MillerLoop.run(pairs)))
}

/// Projective convenience overloads.
public func pairing(_ p: G1Projective, _ q: G2Projective) -> GT { pairing(p.toAffine(), q.toAffine()) }
public func multiPairing(_ pairs: [(G1Projective, G2Projective)]) -> GT {
    let a = G1Projective.batchNormalize(pairs.map(\.0))
    let b = G2Projective.batchNormalize(pairs.map(\.1))
    return multiPairing(Array(zip(a, b)))
}
