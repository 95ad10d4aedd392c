import Foundation

/// Checks a known-answer vector file in the format of `shared/vectors/bls12_381.json` (scalar multiples
/// of both generators, pairings, RFC 9380 hash to G1, identity encodings). Shared by the test-suite and
/// by `twin vectors bls12-381`, so both apply exactly the same checks.
public enum KnownAnswerVectors {
    /// Outcome of one vector: `name` identifies it (section and index), `failures` lists what differed.
    public struct Outcome: Sendable {
        public var name: String
        public var failures: [String]
        public var passed: Bool { failures.isEmpty }
    }

    public enum FormatError: Error, CustomStringConvertible {
        case malformed(String)
        public var description: String { if case .malformed(let m) = self { return "malformed vector file: \(m)" }; return "" }
    }

    struct File: Decodable {
        struct Affine1: Decodable { var x: String; var y: String }
        struct Affine2: Decodable { var x: [String]; var y: [String] }
        struct Mul1: Decodable { var k: String; var affine: Affine1; var compressed: String }
        struct Mul2: Decodable { var k: String; var affine: Affine2; var compressed: String }
        struct Pair: Decodable { var a: String; var b: String; var g1: String; var g2: String; var gt: [[String]] }
        struct H2C: Decodable { var dst: String; var msg: String; var affine: Affine1; var compressed: String }
        var g1_mul: [Mul1]
        var g2_mul: [Mul2]
        var pairing: [Pair]
        var hash_to_g1: [H2C]
        var g1_infinity_compressed: String?
        var g2_infinity_compressed: String?
    }

    /// Parses and checks every vector of `data`; throws only when the file itself is malformed.
    public static func check(_ data: Data) throws -> [Outcome] {
        let file: File
        do { file = try JSONDecoder().decode(File.self, from: data) } catch { throw FormatError.malformed("\(error)") }
        var out = [Outcome]()
        for (i, v) in file.g1_mul.enumerated() { out.append(Outcome(name: "g1_mul[\(i)]", failures: checkG1(v))) }
        for (i, v) in file.g2_mul.enumerated() { out.append(Outcome(name: "g2_mul[\(i)]", failures: checkG2(v))) }
        for (i, v) in file.pairing.enumerated() { out.append(Outcome(name: "pairing[\(i)]", failures: checkPairing(v))) }
        for (i, v) in file.hash_to_g1.enumerated() { out.append(Outcome(name: "hash_to_g1[\(i)]", failures: checkHash(v))) }
        if let s = file.g1_infinity_compressed {
            var f = [String]()
            let b = hex(s, &f)
            if (try? G1Affine(bytes: b)) != .identity { f.append("does not decode to the identity") }
            if G1Affine.identity.compressedBytes != b { f.append("identity encodes differently") }
            out.append(Outcome(name: "g1_infinity_compressed", failures: f))
        }
        if let s = file.g2_infinity_compressed {
            var f = [String]()
            let b = hex(s, &f)
            if (try? G2Affine(bytes: b)) != .identity { f.append("does not decode to the identity") }
            if G2Affine.identity.compressedBytes != b { f.append("identity encodes differently") }
            out.append(Outcome(name: "g2_infinity_compressed", failures: f))
        }
        return out
    }

    static func hex(_ s: String, _ f: inout [String]) -> [UInt8] {
        guard let b = Hex.decode(s) else { f.append("bad hex \(s.prefix(16))…"); return [] }
        return b
    }

    static func scalar(_ s: String, _ f: inout [String]) -> Fr? {
        guard let k = Fr(bytes: hex(s, &f)) else { f.append("scalar not canonical"); return nil }
        return k
    }

    static func fp(_ s: String, _ f: inout [String]) -> Fp? {
        guard let x = Fp(bytes: hex(s, &f)) else { f.append("coordinate not canonical"); return nil }
        return x
    }

    static func checkG1(_ v: File.Mul1) -> [String] {
        var f = [String]()
        guard let k = scalar(v.k, &f), let x = fp(v.affine.x, &f), let y = fp(v.affine.y, &f) else { return f }
        let want = G1Affine(x: x, y: y)
        let g = G1Projective.generator
        if g.mulConstantTime(k).toAffine() != want { f.append("constant-time multiple differs") }
        if g.mulVartime(k).toAffine() != want { f.append("variable-time multiple differs") }
        if Hex.encode(want.compressedBytes) != v.compressed.lowercased() { f.append("compressed encoding differs") }
        if (try? G1Affine(bytes: hex(v.compressed, &f))) != want { f.append("compressed decoding differs") }
        if (try? G1Affine(bytes: want.uncompressedBytes)) != want { f.append("uncompressed round trip differs") }
        return f
    }

    static func fp2(_ s: [String], _ f: inout [String]) -> Fp2? {
        guard s.count == 2, let a = fp(s[0], &f), let b = fp(s[1], &f) else { f.append("bad Fp2"); return nil }
        return Fp2(c0: a, c1: b)
    }

    static func checkG2(_ v: File.Mul2) -> [String] {
        var f = [String]()
        guard let k = scalar(v.k, &f), let x = fp2(v.affine.x, &f), let y = fp2(v.affine.y, &f) else { return f }
        let want = G2Affine(x: x, y: y)
        let g = G2Projective.generator
        if g.mulConstantTime(k).toAffine() != want { f.append("constant-time multiple differs") }
        if g.mulVartime(k).toAffine() != want { f.append("variable-time multiple differs") }
        if Hex.encode(want.compressedBytes) != v.compressed.lowercased() { f.append("compressed encoding differs") }
        if (try? G2Affine(bytes: hex(v.compressed, &f))) != want { f.append("compressed decoding differs") }
        if (try? G2Affine(bytes: want.uncompressedBytes)) != want { f.append("uncompressed round trip differs") }
        return f
    }

    static func checkPairing(_ v: File.Pair) -> [String] {
        var f = [String]()
        guard let a = scalar(v.a, &f), let b = scalar(v.b, &f) else { return f }
        guard let p = try? G1Affine(bytes: hex(v.g1, &f)) else { f.append("g1 does not decode"); return f }
        guard let q = try? G2Affine(bytes: hex(v.g2, &f)) else { f.append("g2 does not decode"); return f }
        if G1Projective.generator.mulVartime(a).toAffine() != p { f.append("g1 ≠ a·G1") }
        if G2Projective.generator.mulVartime(b).toAffine() != q { f.append("g2 ≠ b·G2") }
        let gtHex = v.gt.flatMap { $0 }.joined().lowercased()
        let e = pairing(p, q)
        if Hex.encode(e.bytes) != gtHex { f.append("pairing value differs") }
        if let d = try? GT(bytes: hex(gtHex, &f)) { if d != e { f.append("GT decoding differs") } } else { f.append("GT value does not decode") }
        return f
    }

    static func checkHash(_ v: File.H2C) -> [String] {
        var f = [String]()
        guard let x = fp(v.affine.x, &f), let y = fp(v.affine.y, &f) else { return f }
        let want = G1Affine(x: x, y: y)
        let got = G1Projective.hash(toCurve: Array(v.msg.utf8), domainSeparationTag: Array(v.dst.utf8)).toAffine()
        if got != want { f.append("hash_to_curve point differs") }
        if Hex.encode(got.compressedBytes) != v.compressed.lowercased() { f.append("compressed encoding differs") }
        return f
    }
}
