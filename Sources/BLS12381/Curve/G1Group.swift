// G1Group.swift and G2Group.swift are the same source instantiated for G1 over Fp and G2 over Fp2
// (generated from one template in the development tree); change both together.
// Group law of G1 over Fp: homogeneous projective coordinates with the complete, branch-free
// formulas of Renes–Costello–Batina (2016, Algorithms 7–9 for a = 0), scalar multiplication
// (constant-time fixed window, variable-time wNAF/Straus) and Pippenger multi-scalar multiplication.

/// A point of G1 in affine coordinates; `infinity` marks the identity (x = y = 0 then).
public struct G1Affine: Sendable, Equatable {
    public var x: Fp
    public var y: Fp
    public var infinity: Bool

    public init(x: Fp, y: Fp, infinity: Bool = false) { self.x = x; self.y = y; self.infinity = infinity }

    public static let identity = G1Affine(x: .zero, y: .zero, infinity: true)
    public static var generator: G1Affine { G1Projective.generator.toAffine() }

    public var isIdentity: Bool { infinity }

    /// y² = x³ + b (the identity counts as on the curve).
    public var isOnCurve: Bool {
        if infinity { return true }
        return y.squared() == x.squared() * x + G1Projective.curveB
    }

    public static prefix func - (a: G1Affine) -> G1Affine {
        G1Affine(x: a.x, y: Fp.select(-a.y, a.y, a.infinity ? 1 : 0), infinity: a.infinity)
    }

    public static func == (a: G1Affine, b: G1Affine) -> Bool {
        if a.infinity || b.infinity { return a.infinity == b.infinity }
        return a.x == b.x && a.y == b.y
    }

    public var projective: G1Projective { G1Projective(self) }
}

/// A point of G1 in homogeneous projective coordinates (X : Y : Z), x = X/Z, y = Y/Z; identity (0 : 1 : 0).
public struct G1Projective: Sendable {
    public var x: Fp
    public var y: Fp
    public var z: Fp

    public init(x: Fp, y: Fp, z: Fp) { self.x = x; self.y = y; self.z = z }

    public init(_ a: G1Affine) {
        x = a.x
        y = Fp.select(a.y, .one, a.infinity ? 1 : 0)
        z = Fp.select(.one, .zero, a.infinity ? 1 : 0)
    }

    public static let identity = G1Projective(x: .zero, y: .one, z: .zero)

    public var isIdentity: Bool { z.isZeroBit == 1 }

    @inline(always) static func select(_ a: G1Projective, _ b: G1Projective, _ choice: UInt64) -> G1Projective {
        G1Projective(x: Fp.select(a.x, b.x, choice), y: Fp.select(a.y, b.y, choice), z: Fp.select(a.z, b.z, choice))
    }

    public func toAffine() -> G1Affine {
        let zinv = z.inverse()
        let inf = z.isZeroBit
        return G1Affine(x: Fp.select(x * zinv, .zero, inf), y: Fp.select(y * zinv, .zero, inf), infinity: inf == 1)
    }

    /// Converts many points with one field inversion (Montgomery's trick).
    public static func batchNormalize(_ points: [G1Projective]) -> [G1Affine] {
        var acc = Fp.one
        var prefix = [Fp](); prefix.reserveCapacity(points.count)
        for p in points {
            prefix.append(acc)
            acc = Fp.select(acc * p.z, acc, p.z.isZeroBit)
        }
        var inv = acc.inverse()
        var out = [G1Affine](repeating: .identity, count: points.count)
        for i in stride(from: points.count - 1, through: 0, by: -1) {
            let p = points[i]
            let zinv = inv * prefix[i]
            inv = Fp.select(inv * p.z, inv, p.z.isZeroBit)
            if p.z.isZeroBit == 0 { out[i] = G1Affine(x: p.x * zinv, y: p.y * zinv) }
        }
        return out
    }

    public var isOnCurve: Bool {
        // Y²Z = X³ + bZ³
        let lhs = y.squared() * z
        let rhs = x.squared() * x + G1Projective.curveB * z.squared() * z
        return lhs == rhs && !(z.isZeroBit == 1 && y.isZeroBit == 1)
    }

    public static prefix func - (a: G1Projective) -> G1Projective { G1Projective(x: a.x, y: -a.y, z: a.z) }

    public static func == (a: G1Projective, b: G1Projective) -> Bool {
        let x1 = a.x * b.z, x2 = b.x * a.z
        let y1 = a.y * b.z, y2 = b.y * a.z
        let az = a.z.isZeroBit, bz = b.z.isZeroBit
        let both = az & bz
        let neither = (az | bz) ^ 1
        return (both | (neither & x1.equalBit(x2) & y1.equalBit(y2))) == 1
    }

    /// Complete addition (RCB Algorithm 7, a = 0): 12M + 2·m3b.
    public static func + (p: G1Projective, q: G1Projective) -> G1Projective {
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
        return G1Projective(x: x3, y: y3, z: z3)
    }

    public static func - (p: G1Projective, q: G1Projective) -> G1Projective { p + (-q) }
    public static func += (p: inout G1Projective, q: G1Projective) { p = p + q }

    /// Mixed addition with an affine point (RCB Algorithm 8), branch-free, identity-safe on both sides.
    public static func + (p: G1Projective, q: G1Affine) -> G1Projective {
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
        return select(G1Projective(x: x3, y: y3, z: z3), p, q.infinity ? 1 : 0)
    }

    /// Doubling (RCB Algorithm 9, a = 0): 6M + 2S + m3b.
    public func doubled() -> G1Projective {
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
        return G1Projective(x: x3, y: y3, z: z3)
    }

    // MARK: Scalar multiplication (the algorithms live in ScalarMultiplication.swift)

    /// Constant-time multiplication without endomorphisms (reference for the tests).
    public func mulConstantTimeGeneric(_ k: Fr) -> G1Projective { ScalarMultiplication.fixedWindowConstantTime(self, k) }

    /// Pippenger bucket multi-scalar multiplication Σ kᵢ·Pᵢ. Variable time (public scalars only).
    public static func multiScalarMul(_ points: [G1Projective], _ scalars: [Fr]) -> G1Projective {
        ScalarMultiplication.pippenger(points, scalars)
    }

    public static func * (p: G1Projective, k: Fr) -> G1Projective { p.mulConstantTime(k) }
}

extension G1Projective: Equatable {}
extension G1Projective: ProjectiveGroup {}
