import Foundation
import TestSupport
@testable import BLS12381

enum TestData {
    static func vectorFileURL() -> URL {
        Bundle.module.url(forResource: "bls12_381", withExtension: "json", subdirectory: "Resources")!
    }

    static func hex(_ s: String) -> [UInt8] {
        Hex.decode(s.hasPrefix("0x") ? String(s.dropFirst(2)) : s)!
    }

    static func randomFp(_ g: inout SplitMix64) -> Fp {
        var b = [UInt8](repeating: 0, count: 64)
        for i in 0..<64 { b[i] = UInt8(truncatingIfNeeded: g.next()) }
        return Fp.fromWideBytes(b)
    }

    static func randomFp2(_ g: inout SplitMix64) -> Fp2 { Fp2(c0: randomFp(&g), c1: randomFp(&g)) }
    static func randomFp6(_ g: inout SplitMix64) -> Fp6 { Fp6(c0: randomFp2(&g), c1: randomFp2(&g), c2: randomFp2(&g)) }
    static func randomFp12(_ g: inout SplitMix64) -> Fp12 { Fp12(c0: randomFp6(&g), c1: randomFp6(&g)) }

    /// Generic square-and-multiply for checking Frobenius maps against x^p.
    static func pow12(_ a: Fp12, _ e: [UInt64]) -> Fp12 {
        var r = Fp12.one
        for w in e.reversed() { for i in stride(from: 63, through: 0, by: -1) { r = r.squared(); if (w >> UInt64(i)) & 1 == 1 { r = r * a } } }
        return r
    }

    static let pLimbs: [UInt64] = [0xb9feffffffffaaab, 0x1eabfffeb153ffff, 0x6730d2a0f6b0f624, 0x64774b84f38512bf, 0x4b1ba7b6434bacd7, 0x1a0111ea397fe69a]
    static let pHex = "1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab"
}
