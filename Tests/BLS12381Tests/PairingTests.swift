import Testing
import TestSupport
@testable import BLS12381

@Suite("Pairing and GT")
struct PairingTests {
    static let g1 = G1Projective.generator
    static let g2 = G2Projective.generator

    @Test("bilinearity: e(aP, bQ) = e(P, Q)^(ab) and e(aP, Q) = e(P, aQ)", arguments: 0..<2)
    func bilinearity(seed: Int) {
        var g = SplitMix64(seed: UInt64(seed) &+ 2000)
        let a = Fr.random(using: &g), b = Fr.random(using: &g)
        let p = Self.g1.mulVartime(Fr.random(using: &g)).toAffine()
        let q = Self.g2.mulVartime(Fr.random(using: &g)).toAffine()
        let e = pairing(p, q)
        let ap = G1Projective(p).mulVartime(a).toAffine()
        let bq = G2Projective(q).mulVartime(b).toAffine()
        #expect(pairing(ap, bq) == e.powVartime(a * b))
        #expect(pairing(ap, q) == pairing(p, G2Projective(q).mulVartime(a).toAffine()))
        #expect(pairing(ap, q) == e.powConstantTime(a))
    }

    @Test("non-degeneracy, order r, identities")
    func basics() {
        let e = pairing(Self.g1.toAffine(), Self.g2.toAffine())
        #expect(!e.isOne)
        #expect(GT.hasOrderR(e.value))
        #expect(e.powVartime(-Fr.one) * e == .one)
        #expect(e.inverse() * e == .one)
        #expect(pairing(G1Affine.identity, Self.g2.toAffine()).isOne)
        #expect(pairing(Self.g1.toAffine(), G2Affine.identity).isOne)
        #expect(pairing(-Self.g1.toAffine(), Self.g2.toAffine()) == e.inverse())
        #expect(multiPairing([(G1Affine, G2Affine)]()).isOne)
    }

    @Test("multi-pairing equals the product of pairings", arguments: [2, 4, 11])
    func multi(n: Int) {
        var g = SplitMix64(seed: UInt64(n) &+ 2100)
        var pairs = [(G1Affine, G2Affine)]()
        var product = GT.one
        for i in 0..<n {
            let p = i == 1 ? G1Affine.identity : Self.g1.mulVartime(Fr.random(using: &g)).toAffine()
            let q = Self.g2.mulVartime(Fr.random(using: &g)).toAffine()
            pairs.append((p, q))
            product = product * pairing(p, q)
        }
        #expect(multiPairing(pairs) == product)
        let proj = pairs.map { (G1Projective($0.0), G2Projective($0.1)) }
        #expect(multiPairing(proj) == product)
    }

    @Test("prepared G2 points give the same multi-pairing, identities included", arguments: [1, 3, 11])
    func prepared(n: Int) {
        var g = SplitMix64(seed: UInt64(n) &+ 2150)
        var pairs = [(G1Affine, G2Affine)]()
        for i in 0..<n {
            let p = i == 1 ? G1Affine.identity : Self.g1.mulVartime(Fr.random(using: &g)).toAffine()
            let q = i == 2 ? G2Affine.identity : Self.g2.mulVartime(Fr.random(using: &g)).toAffine()
            pairs.append((p, q))
        }
        let expected = multiPairing(pairs)
        // All prepared, none prepared, and split between both kinds.
        #expect(multiPairing([], prepared: pairs.map { ($0.0, G2Prepared($0.1)) }) == expected)
        #expect(multiPairing(pairs, prepared: []) == expected)
        let half = n / 2
        #expect(multiPairing(Array(pairs[..<half]), prepared: pairs[half...].map { ($0.0, G2Prepared($0.1)) }) == expected)
        // A prepared point is not interchangeable with another one.
        if n > 1 {
            let swapped = [(pairs[0].0, G2Prepared(Self.g2.mulVartime(Fr.random(using: &g)).toAffine()))]
            #expect(multiPairing(Array(pairs[1...]), prepared: swapped) != expected)
        }
    }

    @Test("e(P, Q)·e(−P, Q) = 1 via one multi-pairing (the KP-ABE check shape)")
    func cancel() {
        var g = SplitMix64(seed: 2200)
        let p = Self.g1.mulVartime(Fr.random(using: &g)).toAffine()
        let q = Self.g2.mulVartime(Fr.random(using: &g)).toAffine()
        #expect(multiPairing([(p, q), (-p, q)]).isOne)
    }

    @Test("GT exponentiation: constant-time = variable-time, laws", arguments: 0..<3)
    func gtPow(seed: Int) {
        var g = SplitMix64(seed: UInt64(seed) &+ 2300)
        let e = pairing(Self.g1.mulVartime(Fr.random(using: &g)).toAffine(), Self.g2.toAffine())
        let a = Fr.random(using: &g), b = Fr.random(using: &g)
        #expect(e.powConstantTime(a) == e.powVartime(a))
        #expect(e.powConstantTimeGeneric(a) == e.powVartime(a))
        #expect(e.powConstantTime(-Fr.one) == e.inverse())
        #expect(e.powVartime(a + b) == e.powVartime(a) * e.powVartime(b))
        #expect(e.powVartime(.zero).isOne && e.powConstantTime(.zero).isOne)
        #expect(e.powVartime(.one) == e)
    }

    @Test("GT encoding round trip and strict decoding")
    func gtEncoding() throws {
        let e = pairing(Self.g1.toAffine(), Self.g2.toAffine())
        let b = e.bytes
        #expect(b.count == 576)
        #expect(try GT(bytes: b) == e)
        #expect(throws: BLS12381Error.invalidLength) { try GT(bytes: Array(b.dropLast())) }
        // a coefficient ≥ p
        var bad = b
        for i in 0..<48 { bad[i] = TestData.hex(TestData.pHex)[i] }
        #expect(throws: BLS12381Error.coordinateNotCanonical) { try GT(bytes: bad) }
        // a valid F_p¹² element that is not in GT
        var g = SplitMix64(seed: 2400)
        let f = TestData.randomFp12(&g)
        let fb = GT.coefficients(f).flatMap { $0.c0.bytes + $0.c1.bytes }
        #expect(throws: BLS12381Error.notInSubgroup) { try GT(bytes: fb) }
        // zero
        #expect(throws: BLS12381Error.notInSubgroup) { try GT(bytes: [UInt8](repeating: 0, count: 576)) }
        #expect(try GT(bytes: GT.one.bytes).isOne)
        // in the cyclotomic subgroup (after the easy part) but not of order r
        var c = f.conjugate() * f.inverse()
        c = c.frobenius(2) * c
        #expect(c.cyclotomicSquared() == c.squared())
        let cb = GT.coefficients(c).flatMap { $0.c0.bytes + $0.c1.bytes }
        #expect(throws: BLS12381Error.notInSubgroup) { try GT(bytes: cb) }
        // the full final exponentiation of the same element lands in GT and decodes
        let inGT = FinalExponentiation.apply(f)
        #expect(try GT(bytes: GT.coefficients(inGT).flatMap { $0.c0.bytes + $0.c1.bytes }).value == inGT)
    }
}
