import Testing
import TestSupport
@testable import BLS12381

@Suite("ZCash serialization: round trips and strict decoding")
struct SerializationTests {
    @Test("G1 and G2 round trips (compressed and uncompressed)", arguments: 0..<4)
    func roundTrip(seed: Int) throws {
        var g = SplitMix64(seed: UInt64(seed) &+ 3000)
        let p = G1Projective.generator.mulVartime(Fr.random(using: &g)).toAffine()
        let q = G2Projective.generator.mulVartime(Fr.random(using: &g)).toAffine()
        #expect(try G1Affine(bytes: p.compressedBytes) == p)
        #expect(try G1Affine(bytes: p.uncompressedBytes) == p)
        #expect(try G1Affine(bytes: (-p).compressedBytes) == -p)
        #expect(try G2Affine(bytes: q.compressedBytes) == q)
        #expect(try G2Affine(bytes: q.uncompressedBytes) == q)
        #expect(try G2Affine(bytes: (-q).compressedBytes) == -q)
        #expect(p.compressedBytes.count == 48 && p.uncompressedBytes.count == 96)
        #expect(q.compressedBytes.count == 96 && q.uncompressedBytes.count == 192)
    }

    @Test("identity encodings")
    func identity() throws {
        #expect(try G1Affine(bytes: G1Affine.identity.compressedBytes) == .identity)
        #expect(try G1Affine(bytes: G1Affine.identity.uncompressedBytes) == .identity)
        #expect(try G2Affine(bytes: G2Affine.identity.compressedBytes) == .identity)
        #expect(try G2Affine(bytes: G2Affine.identity.uncompressedBytes) == .identity)
        #expect(G1Affine.identity.uncompressedBytes[0] == 0x40)
    }

    // MARK: G1 negative cases

    static let g1c = G1Affine.generator.compressedBytes
    static let g1u = G1Affine.generator.uncompressedBytes

    @Test("G1: wrong lengths")
    func g1Lengths() {
        for n in [0, 47, 49, 95, 97, 192] {
            #expect(throws: BLS12381Error.invalidLength) { try G1Affine(bytes: [UInt8](repeating: 0xc0, count: n)) }
        }
        #expect(throws: BLS12381Error.invalidLength) { try G1Affine(compressed: Array(Self.g1u)) }
        #expect(throws: BLS12381Error.invalidLength) { try G1Affine(uncompressed: Array(Self.g1c)) }
    }

    @Test("G1: flag misuse")
    func g1Flags() {
        var b = Self.g1c; b[0] &= 0x7f   // 48 bytes without the compression flag
        #expect(throws: BLS12381Error.invalidFlags) { try G1Affine(bytes: b) }
        b = Self.g1u; b[0] |= 0x80       // 96 bytes with the compression flag
        #expect(throws: BLS12381Error.invalidFlags) { try G1Affine(bytes: b) }
        b = Self.g1u; b[0] |= 0x20       // uncompressed with the sign flag
        #expect(throws: BLS12381Error.invalidFlags) { try G1Affine(bytes: b) }
        var inf = G1Affine.identity.compressedBytes; inf[0] |= 0x20   // infinity with sign
        #expect(throws: BLS12381Error.invalidFlags) { try G1Affine(bytes: inf) }
        inf = G1Affine.identity.uncompressedBytes; inf[0] |= 0x20
        #expect(throws: BLS12381Error.invalidFlags) { try G1Affine(bytes: inf) }
    }

    @Test("G1: only the canonical infinity is accepted")
    func g1Infinity() {
        var inf = G1Affine.identity.compressedBytes; inf[47] = 1
        #expect(throws: BLS12381Error.nonCanonicalInfinity) { try G1Affine(bytes: inf) }
        inf = G1Affine.identity.compressedBytes; inf[0] |= 0x01
        #expect(throws: BLS12381Error.nonCanonicalInfinity) { try G1Affine(bytes: inf) }
        var b = Self.g1c; b[0] |= 0x40   // generator's x with the infinity flag
        #expect(throws: BLS12381Error.nonCanonicalInfinity) { try G1Affine(bytes: b) }
        inf = G1Affine.identity.uncompressedBytes; inf[95] = 2
        #expect(throws: BLS12381Error.nonCanonicalInfinity) { try G1Affine(bytes: inf) }
    }

    @Test("G1: x ≥ p, off-curve, not in the subgroup")
    func g1Invalid() {
        var b = TestData.hex(TestData.pHex); b[0] |= 0x80
        #expect(throws: BLS12381Error.coordinateNotCanonical) { try G1Affine(bytes: b) }
        var u = TestData.hex(TestData.pHex) + G1Affine.generator.y.bytes
        #expect(throws: BLS12381Error.coordinateNotCanonical) { try G1Affine(bytes: u) }
        u = G1Affine.generator.x.bytes + TestData.hex(TestData.pHex)
        #expect(throws: BLS12381Error.coordinateNotCanonical) { try G1Affine(bytes: u) }
        // an x with x³ + 4 not a square
        var x: UInt64 = 1
        while (Fp(x).squared() * Fp(x) + Fp(4)).isSquare { x += 1 }
        var c = Fp(x).bytes; c[0] |= 0x80
        #expect(throws: BLS12381Error.notOnCurve) { try G1Affine(bytes: c) }
        // uncompressed point with a wrong y
        let g = G1Affine.generator
        #expect(throws: BLS12381Error.notOnCurve) { try G1Affine(bytes: g.x.bytes + (g.y + .one).bytes) }
        // on the curve, outside G1
        let bad = NonSubgroupPoints.g1()
        #expect(bad.isOnCurve)
        #expect(throws: BLS12381Error.notInSubgroup) { try G1Affine(bytes: bad.compressedBytes) }
        #expect(throws: BLS12381Error.notInSubgroup) { try G1Affine(bytes: bad.uncompressedBytes) }
    }

    // MARK: G2 negative cases

    static let g2c = G2Affine.generator.compressedBytes
    static let g2u = G2Affine.generator.uncompressedBytes

    @Test("G2: wrong lengths and flag misuse")
    func g2Flags() {
        for n in [0, 48, 95, 97, 191, 193] {
            #expect(throws: BLS12381Error.invalidLength) { try G2Affine(bytes: [UInt8](repeating: 0xc0, count: n)) }
        }
        var b = Self.g2c; b[0] &= 0x7f
        #expect(throws: BLS12381Error.invalidFlags) { try G2Affine(bytes: b) }
        b = Self.g2u; b[0] |= 0x80
        #expect(throws: BLS12381Error.invalidFlags) { try G2Affine(bytes: b) }
        b = Self.g2u; b[0] |= 0x20
        #expect(throws: BLS12381Error.invalidFlags) { try G2Affine(bytes: b) }
        var inf = G2Affine.identity.compressedBytes; inf[0] |= 0x20
        #expect(throws: BLS12381Error.invalidFlags) { try G2Affine(bytes: inf) }
        inf = G2Affine.identity.compressedBytes; inf[95] = 1
        #expect(throws: BLS12381Error.nonCanonicalInfinity) { try G2Affine(bytes: inf) }
        inf = G2Affine.identity.compressedBytes; inf[50] = 1
        #expect(throws: BLS12381Error.nonCanonicalInfinity) { try G2Affine(bytes: inf) }
        inf = G2Affine.identity.uncompressedBytes; inf[191] = 1
        #expect(throws: BLS12381Error.nonCanonicalInfinity) { try G2Affine(bytes: inf) }
    }

    @Test("G2: coordinates ≥ p, off-curve, not in the subgroup")
    func g2Invalid() {
        let p = TestData.hex(TestData.pHex)
        let g = G2Affine.generator
        var c1 = p + g.x.c0.bytes; c1[0] |= 0x80          // x.c1 = p
        #expect(throws: BLS12381Error.coordinateNotCanonical) { try G2Affine(bytes: c1) }
        var c0 = g.x.c1.bytes + p; c0[0] |= 0x80          // x.c0 = p
        #expect(throws: BLS12381Error.coordinateNotCanonical) { try G2Affine(bytes: c0) }
        let u = g.x.c1.bytes + g.x.c0.bytes + g.y.c1.bytes + p
        #expect(throws: BLS12381Error.coordinateNotCanonical) { try G2Affine(bytes: u) }
        // x with x³ + b' not a square in F_p²
        var k: UInt64 = 1
        while (Fp2(c0: Fp(k), c1: .one).squared() * Fp2(c0: Fp(k), c1: .one) + Fp2(c0: Fp(4), c1: Fp(4))).isSquare { k += 1 }
        var nc = Fp(1).bytes + Fp(k).bytes; nc[0] |= 0x80
        #expect(throws: BLS12381Error.notOnCurve) { try G2Affine(bytes: nc) }
        let wrongY = g.x.c1.bytes + g.x.c0.bytes + g.y.c1.bytes + (g.y.c0 + .one).bytes
        #expect(throws: BLS12381Error.notOnCurve) { try G2Affine(bytes: wrongY) }
        let bad = NonSubgroupPoints.g2()
        #expect(bad.isOnCurve)
        #expect(throws: BLS12381Error.notInSubgroup) { try G2Affine(bytes: bad.compressedBytes) }
        #expect(throws: BLS12381Error.notInSubgroup) { try G2Affine(bytes: bad.uncompressedBytes) }
    }

    @Test("sign bit selects the lexicographically largest y")
    func signBit() throws {
        let g = G1Affine.generator
        let large = g.y.isLexicographicallyLargest ? g : -g
        #expect(large.compressedBytes[0] & 0x20 != 0)
        #expect((-large).compressedBytes[0] & 0x20 == 0)
        let q = G2Affine.generator
        let big = q.y.isLexicographicallyLargest ? q : -q
        #expect(big.compressedBytes[0] & 0x20 != 0)
    }
}
