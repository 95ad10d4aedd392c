// G1Group.swift and G2Group.swift are the same source instantiated for G1 over Fp and G2 over Fp2
// (generated from one template in the development tree); change both together.
// Group law of G2 over Fp2: homogeneous projective coordinates with the complete, branch-free
// formulas of Renes–Costello–Batina (2016, Algorithms 7–9 for a = 0), scalar multiplication
// (constant-time fixed window, variable-time wNAF/Straus) and Pippenger multi-scalar multiplication.

/// A point of G2 in affine coordinates; `infinity` marks the identity (x = y = 0 then).
public struct G2Affine: Sendable, Equatable {
    public var x: Fp2
    public var y: Fp2
    public var infinity: Bool

    public init(x: Fp2, y: Fp2, infinity: Bool = false) { self.x = x; self.y = y; self.infinity = infinity }

    public static let identity = G2Affine(x: .zero, y: .zero, infinity: true)
    public static var generator: G2Affine { G2Projective.generator.toAffine() }

    public var isIdentity: Bool { infinity }

    /// y² = x³ + b (the identity counts as on the curve).
    public var isOnCurve: Bool {
        if infinity { return true }
        return y.squared() == x.squared() * x + G2Projective.curveB
    }

    public static prefix func - (a: G2Affine) -> G2Affine {
        G2Affine(x: a.x, y: Fp2.select(-a.y, a.y, a.infinity ? 1 : 0), infinity: a.infinity)
    }

    public static func == (a: G2Affine, b: G2Affine) -> Bool {
        if a.infinity || b.infinity { return a.infinity == b.infinity }
        return a.x == b.x && a.y == b.y
    }

    public var projective: G2Projective { G2Projective(self) }
}

/// A point of G2 in homogeneous projective coordinates (X : Y : Z), x = X/Z, y = Y/Z; identity (0 : 1 : 0).
public struct G2Projective: Sendable {
    public var x: Fp2
    public var y: Fp2
    public var z: Fp2

    public init(x: Fp2, y: Fp2, z: Fp2) { self.x = x; self.y = y; self.z = z }

    public init(_ a: G2Affine) {
        x = a.x
        y = Fp2.select(a.y, .one, a.infinity ? 1 : 0)
        z = Fp2.select(.one, .zero, a.infinity ? 1 : 0)
    }

    public static let identity = G2Projective(x: .zero, y: .one, z: .zero)

    public var isIdentity: Bool { z.isZeroBit == 1 }

    @inline(always) static func select(_ a: G2Projective, _ b: G2Projective, _ choice: UInt64) -> G2Projective {
        G2Projective(x: Fp2.select(a.x, b.x, choice), y: Fp2.select(a.y, b.y, choice), z: Fp2.select(a.z, b.z, choice))
    }

    public func toAffine() -> G2Affine {
        let zinv = z.inverse()
        let inf = z.isZeroBit
        return G2Affine(x: Fp2.select(x * zinv, .zero, inf), y: Fp2.select(y * zinv, .zero, inf), infinity: inf == 1)
    }

    /// Converts many points with one field inversion (Montgomery's trick).
    public static func batchNormalize(_ points: [G2Projective]) -> [G2Affine] {
        var acc = Fp2.one
        var prefix = [Fp2](); prefix.reserveCapacity(points.count)
        for p in points {
            prefix.append(acc)
            acc = Fp2.select(acc * p.z, acc, p.z.isZeroBit)
        }
        var inv = acc.inverse()
        var out = [G2Affine](repeating: .identity, count: points.count)
        for i in stride(from: points.count - 1, through: 0, by: -1) {
            let p = points[i]
            let zinv = inv * prefix[i]
            inv = Fp2.select(inv * p.z, inv, p.z.isZeroBit)
            if p.z.isZeroBit == 0 { out[i] = G2Affine(x: p.x * zinv, y: p.y * zinv) }
        }
        return out
    }

    public var isOnCurve: Bool {
        // Y²Z = X³ + bZ³
        let lhs = y.squared() * z
        let rhs = x.squared() * x + G2Projective.curveB * z.squared() * z
        return lhs == rhs && !(z.isZeroBit == 1 && y.isZeroBit == 1)
    }

    public static prefix func - (a: G2Projective) -> G2Projective { G2Projective(x: a.x, y: -a.y, z: a.z) }

    public static func == (a: G2Projective, b: G2Projective) -> Bool {
        let x1 = a.x * b.z, x2 = b.x * a.z
        let y1 = a.y * b.z, y2 = b.y * a.z
        let az = a.z.isZeroBit, bz = b.z.isZeroBit
        let both = az & bz
        let neither = (az | bz) ^ 1
        return (both | (neither & x1.equalBit(x2) & y1.equalBit(y2))) == 1
    }

    /// Complete addition (RCB Algorithm 7, a = 0): 12M + 2·m3b.
    public static func + (p: G2Projective, q: G2Projective) -> G2Projective {
        var t0 = p.x * q.x
        var t1 = p.y * q.y
        var t2 = p.z * q.z
        var t3 = p.x + p.y
        var t4 = q.x + q.y
        t3 = t3 * t4
        t4 = t0 + t1
        t3 = t3 - t4
        t4 = p.y + p.z
        var x3 = q.y + q.z
        t4 = t4 * x3
        x3 = t1 + t2
        t4 = t4 - x3
        x3 = p.x + p.z
        var y3 = q.x + q.z
        x3 = x3 * y3
        y3 = t0 + t2
        y3 = x3 - y3
        x3 = t0 + t0
        t0 = x3 + t0
        t2 = t2.mulBy3b()
        var z3 = t1 + t2
        t1 = t1 - t2
        y3 = y3.mulBy3b()
        x3 = t4 * y3
        t2 = t3 * t1
        x3 = t2 - x3
        y3 = y3 * t0
        t1 = t1 * z3
        y3 = t1 + y3
        t0 = t0 * t3
        z3 = z3 * t4
        z3 = z3 + t0
        return G2Projective(x: x3, y: y3, z: z3)
    }

    public static func - (p: G2Projective, q: G2Projective) -> G2Projective { p + (-q) }
    public static func += (p: inout G2Projective, q: G2Projective) { p = p + q }

    /// Mixed addition with an affine point (RCB Algorithm 8), branch-free, identity-safe on both sides.
    public static func + (p: G2Projective, q: G2Affine) -> G2Projective {
        var t0 = p.x * q.x
        var t1 = p.y * q.y
        var t3 = q.x + q.y
        var t4 = p.x + p.y
        t3 = t3 * t4
        t4 = t0 + t1
        t3 = t3 - t4
        t4 = q.y * p.z
        t4 = t4 + p.y
        var y3 = q.x * p.z
        y3 = y3 + p.x
        var x3 = t0 + t0
        t0 = x3 + t0
        var t2 = p.z.mulBy3b()
        var z3 = t1 + t2
        t1 = t1 - t2
        y3 = y3.mulBy3b()
        x3 = t4 * y3
        t2 = t3 * t1
        x3 = t2 - x3
        y3 = y3 * t0
        t1 = t1 * z3
        y3 = t1 + y3
        t0 = t0 * t3
        z3 = z3 * t4
        z3 = z3 + t0
        return select(G2Projective(x: x3, y: y3, z: z3), p, q.infinity ? 1 : 0)
    }

    /// Doubling (RCB Algorithm 9, a = 0): 6M + 2S + m3b.
    public func doubled() -> G2Projective {
        var t0 = y.squared()
        var z3 = t0 + t0
        z3 = z3 + z3
        z3 = z3 + z3
        var t1 = y * z
        var t2 = z.squared()
        t2 = t2.mulBy3b()
        var x3 = t2 * z3
        var y3 = t0 + t2
        z3 = t1 * z3
        t1 = t2 + t2
        t2 = t1 + t2
        t0 = t0 - t2
        y3 = t0 * y3
        y3 = x3 + y3
        t1 = x * y
        x3 = t0 * t1
        x3 = x3 + x3
        return G2Projective(x: x3, y: y3, z: z3)
    }

    // MARK: Scalar multiplication (the algorithms live in ScalarMultiplication.swift)

    /// Constant-time multiplication without endomorphisms (reference for the tests).
    public func mulConstantTimeGeneric(_ k: Fr) -> G2Projective { ScalarMultiplication.fixedWindowConstantTime(self, k) }

    /// Pippenger bucket multi-scalar multiplication Σ kᵢ·Pᵢ. Variable time (public scalars only).
    public static func multiScalarMul(_ points: [G2Projective], _ scalars: [Fr]) -> G2Projective {
        ScalarMultiplication.pippenger(points, scalars)
    }

    public static func * (p: G2Projective, k: Fr) -> G2Projective { p.mulConstantTime(k) }
}

extension G2Projective: Equatable {}
extension G2Projective: ProjectiveGroup {}
