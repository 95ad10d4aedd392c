import Testing
@testable import BLS12381

/// RFC 9380 test vectors.
/// expand_message_xmd: Appendix K.1 (SHA-256), as published in the CFRG draft repository
/// (github.com/cfrg/draft-irtf-cfrg-hash-to-curve, poc/vectors/expand_message_xmd_SHA256_38.json and
/// expand_message_xmd_SHA256_256.json). hash_to_curve: Appendix J.9.1, BLS12381G1_XMD:SHA-256_SSWU_RO_
/// (P.x, P.y for the five RFC messages; the same points are the first five hash_to_g1 entries of the
/// shared vector file, produced independently by py_ecc).
@Suite("RFC 9380")
struct RFC9380Tests {
    static let q128 = "q128_" + String(repeating: "q", count: 128)
    static let a512 = "a512_" + String(repeating: "a", count: 512)
    static let msgs = ["", "abc", "abcdef0123456789", q128, a512]

    static let shortDST = "QUUX-V01-CS02-with-expander-SHA256-128"
    static let longDST = "QUUX-V01-CS02-with-expander-SHA256-128-long-DST-" + String(repeating: "1", count: 208)

    struct XMD: Sendable, CustomStringConvertible {
        var dst: String; var msg: String; var len: Int; var out: String
        var description: String { "dst.count=\(dst.count) msg=\(msg.prefix(8)) len=\(len)" }
    }

    static let xmdVectors: [XMD] = {
        let short32 = ["68a985b87eb6b46952128911f2a4412bbc302a9d759667f87f7a21d803f07235",
                       "d8ccab23b5985ccea865c6c97b6e5b8350e794e603b4b97902f53a8a0d605615",
                       "eff31487c770a893cfb36f912fbfcbff40d5661771ca4b2cb4eafe524333f5c1",
                       "b23a1d2b4d97b2ef7785562a7e8bac7eed54ed6e97e29aa51bfe3f12ddad1ff9",
                       "4623227bcc01293b8c130bf771da8c298dede7383243dc0993d2d94823958c4c"]
        let short128 = ["af84c27ccfd45d41914fdff5df25293e221afc53d8ad2ac06d5e3e29485dadbee0d121587713a3e0dd4d5e69e93eb7cd4f5df4cd103e188cf60cb02edc3edf18eda8576c412b18ffb658e3dd6ec849469b979d444cf7b26911a08e63cf31f9dcc541708d3491184472c2c29bb749d4286b004ceb5ee6b9a7fa5b646c993f0ced",
                        "abba86a6129e366fc877aab32fc4ffc70120d8996c88aee2fe4b32d6c7b6437a647e6c3163d40b76a73cf6a5674ef1d890f95b664ee0afa5359a5c4e07985635bbecbac65d747d3d2da7ec2b8221b17b0ca9dc8a1ac1c07ea6a1e60583e2cb00058e77b7b72a298425cd1b941ad4ec65e8afc50303a22c0f99b0509b4c895f40",
                        "ef904a29bffc4cf9ee82832451c946ac3c8f8058ae97d8d629831a74c6572bd9ebd0df635cd1f208e2038e760c4994984ce73f0d55ea9f22af83ba4734569d4bc95e18350f740c07eef653cbb9f87910d833751825f0ebefa1abe5420bb52be14cf489b37fe1a72f7de2d10be453b2c9d9eb20c7e3f6edc5a60629178d9478df",
                        "80be107d0884f0d881bb460322f0443d38bd222db8bd0b0a5312a6fedb49c1bbd88fd75d8b9a09486c60123dfa1d73c1cc3169761b17476d3c6b7cbbd727acd0e2c942f4dd96ae3da5de368d26b32286e32de7e5a8cb2949f866a0b80c58116b29fa7fabb3ea7d520ee603e0c25bcaf0b9a5e92ec6a1fe4e0391d1cdbce8c68a",
                        "546aff5444b5b79aa6148bd81728704c32decb73a3ba76e9e75885cad9def1d06d6792f8a7d12794e90efed817d96920d728896a4510864370c207f99bd4a608ea121700ef01ed879745ee3e4ceef777eda6d9e5e38b90c86ea6fb0b36504ba4a45d22e86f6db5dd43d98a294bebb9125d5b794e9d2a81181066eb954966a487"]
        let long32 = ["e8dc0c8b686b7ef2074086fbdd2f30e3f8bfbd3bdf177f73f04b97ce618a3ed3",
                      "52dbf4f36cf560fca57dedec2ad924ee9c266341d8f3d6afe5171733b16bbb12",
                      "35387dcf22618f3728e6c686490f8b431f76550b0b2c61cbc1ce7001536f4521",
                      "01b637612bb18e840028be900a833a74414140dde0c4754c198532c3a0ba42bc",
                      "20cce7033cabc5460743180be6fa8aac5a103f56d481cf369a8accc0c374431b"]
        let long128 = ["14604d85432c68b757e485c8894db3117992fc57e0e136f71ad987f789a0abc287c47876978e2388a02af86b1e8d1342e5ce4f7aaa07a87321e691f6fba7e0072eecc1218aebb89fb14a0662322d5edbd873f0eb35260145cd4e64f748c5dfe60567e126604bcab1a3ee2dc0778102ae8a5cfd1429ebc0fa6bf1a53c36f55dfc",
                       "1a30a5e36fbdb87077552b9d18b9f0aee16e80181d5b951d0471d55b66684914aef87dbb3626eaabf5ded8cd0686567e503853e5c84c259ba0efc37f71c839da2129fe81afdaec7fbdc0ccd4c794727a17c0d20ff0ea55e1389d6982d1241cb8d165762dbc39fb0cee4474d2cbbd468a835ae5b2f20e4f959f56ab24cd6fe267",
                       "d2ecef3635d2397f34a9f86438d772db19ffe9924e28a1caf6f1c8f15603d4028f40891044e5c7e39ebb9b31339979ff33a4249206f67d4a1e7c765410bcd249ad78d407e303675918f20f26ce6d7027ed3774512ef5b00d816e51bfcc96c3539601fa48ef1c07e494bdc37054ba96ecb9dbd666417e3de289d4f424f502a982",
                       "ed6e8c036df90111410431431a232d41a32c86e296c05d426e5f44e75b9a50d335b2412bc6c91e0a6dc131de09c43110d9180d0a70f0d6289cb4e43b05f7ee5e9b3f42a1fad0f31bac6a625b3b5c50e3a83316783b649e5ecc9d3b1d9471cb5024b7ccf40d41d1751a04ca0356548bc6e703fca02ab521b505e8e45600508d32",
                       "78b53f2413f3c688f07732c10e5ced29a17c6a16f717179ffbe38d92d6c9ec296502eb9889af83a1928cd162e845b0d3c5424e83280fed3d10cffb2f8431f14e7a23f4c68819d40617589e4c41169d0b56e0e3535be1fd71fbb08bb70c5b5ffed953d6c14bf7618b35fc1f4c4b30538236b4b08c9fbf90462447a8ada60be495"]
        var v = [XMD]()
        for (i, m) in msgs.enumerated() {
            v.append(XMD(dst: shortDST, msg: m, len: 0x20, out: short32[i]))
            v.append(XMD(dst: shortDST, msg: m, len: 0x80, out: short128[i]))
            v.append(XMD(dst: longDST, msg: m, len: 0x20, out: long32[i]))
            v.append(XMD(dst: longDST, msg: m, len: 0x80, out: long128[i]))
        }
        return v
    }()

    @Test("expand_message_xmd(SHA-256) matches Appendix K.1", arguments: xmdVectors)
    func expandMessage(v: XMD) throws {
        let out = try expandMessageXMD(Array(v.msg.utf8), dst: Array(v.dst.utf8), outputLength: v.len)
        #expect(Hex.encode(out) == v.out)
    }

    @Test("the long DST is really longer than 255 bytes")
    func longDSTLength() { #expect(Self.longDST.utf8.count > 255) }

    @Test("expand_message_xmd rejects ell > 255")
    func expandTooLong() {
        #expect(throws: HashToCurveError.outputTooLong) { try expandMessageXMD([], dst: [1], outputLength: 255 * 32 + 1) }
    }

    struct H2C: Sendable, CustomStringConvertible {
        var msg: String; var x: String; var y: String
        var description: String { "msg=\(msg.prefix(8))" }
    }

    static let h2cVectors: [H2C] = [
        H2C(msg: "", x: "052926add2207b76ca4fa57a8734416c8dc95e24501772c814278700eed6d1e4e8cf62d9c09db0fac349612b759e79a1",
            y: "08ba738453bfed09cb546dbb0783dbb3a5f1f566ed67bb6be0e8c67e2e81a4cc68ee29813bb7994998f3eae0c9c6a265"),
        H2C(msg: "abc", x: "03567bc5ef9c690c2ab2ecdf6a96ef1c139cc0b2f284dca0a9a7943388a49a3aee664ba5379a7655d3c68900be2f6903",
            y: "0b9c15f3fe6e5cf4211f346271d7b01c8f3b28be689c8429c85b67af215533311f0b8dfaaa154fa6b88176c229f2885d"),
        H2C(msg: "abcdef0123456789", x: "11e0b079dea29a68f0383ee94fed1b940995272407e3bb916bbf268c263ddd57a6a27200a784cbc248e84f357ce82d98",
            y: "03a87ae2caf14e8ee52e51fa2ed8eefe80f02457004ba4d486d6aa1f517c0889501dc7413753f9599b099ebcbbd2d709"),
        H2C(msg: q128, x: "15f68eaa693b95ccb85215dc65fa81038d69629f70aeee0d0f677cf22285e7bf58d7cb86eefe8f2e9bc3f8cb84fac488",
            y: "1807a1d50c29f430b8cafc4f8638dfeeadf51211e1602a5f184443076715f91bb90a48ba1e370edce6ae1062f5e6dd38"),
        H2C(msg: a512, x: "082aabae8b7dedb0e78aeb619ad3bfd9277a2f77ba7fad20ef6aabdc6c31d19ba5a6d12283553294c1825c4b3ca2dcfe",
            y: "05b84ae5a942248eea39e1d91030458c40153f3b654ab7872d779ad1e942856a20c438e8d99bc8abfbf74729ce1f7ac8"),
    ]

    @Test("hash_to_curve BLS12381G1_XMD:SHA-256_SSWU_RO_ matches Appendix J.9.1", arguments: h2cVectors)
    func hashToG1(v: H2C) {
        let dst = Array("QUUX-V01-CS02-with-BLS12381G1_XMD:SHA-256_SSWU_RO_".utf8)
        let p = G1Projective.hash(toCurve: Array(v.msg.utf8), domainSeparationTag: dst).toAffine()
        #expect(Hex.encode(p.x.bytes) == v.x)
        #expect(Hex.encode(p.y.bytes) == v.y)
        #expect(p.isOnCurve && p.isInSubgroup)
    }

    @Test("hash_to_curve is a function of the DST as well as the message")
    func dstSeparates() {
        let a = G1Projective.hash(toCurve: Array("m".utf8), domainSeparationTag: Array("A".utf8))
        let b = G1Projective.hash(toCurve: Array("m".utf8), domainSeparationTag: Array("B".utf8))
        #expect(a != b)
    }
}
