import BLS12381
import Crypto

/// The GPSW operations. Secret exponents (α, polynomial coefficients, shares λ, r, s) only ever meet
/// constant-time scalar multiplication and exponentiation; Lagrange coefficients are public and use
/// the variable-time routines.
extension KPABE {
    /// Setup: a fresh authority.
    public static func setup() -> (PublicParameters, MasterSecret) {
        let master = MasterSecret(authority: .random(), alpha: nonZeroRandom())
        return (master.publicParameters, master)
    }

    /// KeyGen: shares α over `policy`'s threshold tree and binds each leaf's share to its attribute.
    public static func keyGen(_ master: MasterSecret, policy: Policy) throws(PolicyError) -> DecryptionKey {
        try policy.validate()
        var shares: [Fr] = []
        share(master.alpha, over: policy, into: &shares)
        let g1 = G1Projective.generator, g2 = G2Projective.generator
        let components = zip(policy.leaves, shares).map { attribute, lambda in
            let r = nonZeroRandom()
            let d1 = g1.mulConstantTime(lambda) + master.authority.hash(attribute: attribute).mulConstantTime(r)
            return DecryptionKey.Component(d1: d1.toAffine(), d2: g2.mulConstantTime(r).toAffine())
        }
        return DecryptionKey(authority: master.authority, policy: policy, components: components)
    }

    /// Encrypt (wrap): seals `payload` so that keys whose policy `attributes` satisfy can open it.
    public static func encrypt(_ payload: some Collection<UInt8>, attributes: some Sequence<String>,
                               to parameters: PublicParameters) throws(KPABEError) -> Ciphertext {
        let names = Array(Set(attributes)).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        guard !names.isEmpty else { throw .noAttributes }
        for name in names where name.isEmpty || name.utf8.count > Policy.maximumAttributeLength {
            throw .invalidAttribute(name)
        }
        let s = nonZeroRandom()
        let c0 = G2Projective.generator.mulConstantTime(s).toAffine()
        let components = G1Projective.batchNormalize(names.map { parameters.authority.hash(attribute: $0).mulConstantTime(s) })
        let session = parameters.y.powConstantTime(s)
        var ciphertext = Ciphertext(authority: parameters.authority, attributes: names, c0: c0,
                                    attributeComponents: components, sealedPayload: [])
        let (key, nonce) = dataEncapsulationKey(session)
        let box = try! AES.GCM.seal(Array(payload), using: key, nonce: nonce, authenticating: ciphertext.header())
        ciphertext = Ciphertext(authority: parameters.authority, attributes: names, c0: c0,
                                attributeComponents: components, sealedPayload: Array(box.ciphertext) + Array(box.tag))
        return ciphertext
    }

    /// Decrypt (unwrap): one multi-pairing over a minimal satisfying set of leaves.
    public static func decrypt(_ ciphertext: Ciphertext, with key: DecryptionKey) throws(KPABEError) -> [UInt8] {
        guard key.authority == ciphertext.authority else { throw .wrongAuthority }
        guard let plan = Plan.make(for: key, ciphertext) else { throw .policyNotSatisfied }
        // e(Π D_j^{ω_j}, C0) · Π e(C_{x_j}^{-ω_j}, d_j) = e(g1, g2)^{αs}
        let combined = G1Projective.multiScalarMul(plan.leaves.map { G1Projective(key.components[$0.leaf].d1) },
                                                   plan.leaves.map(\.coefficient))
        let blinded = G1Projective.batchNormalize(plan.leaves.map {
            G1Projective(ciphertext.attributeComponents[$0.attribute]).mulVartime(-$0.coefficient)
        })
        let session = multiPairing([(combined.toAffine(), ciphertext.c0)],
                                   prepared: zip(plan.leaves, blinded).map { ($1, key.prepared[$0.leaf]) })
        let (dek, nonce) = dataEncapsulationKey(session)
        let sealed = ciphertext.sealedPayload
        guard sealed.count >= 16,
              let box = try? AES.GCM.SealedBox(nonce: nonce, ciphertext: sealed.dropLast(16), tag: sealed.suffix(16)),
              let payload = try? AES.GCM.open(box, using: dek, authenticating: ciphertext.header())
        else { throw .decryptionFailed }
        return Array(payload)
    }

    /// How many Miller loops decrypting `ciphertext` with `key` takes (leaves used + 1), or nil when
    /// the policy is not satisfied. For benchmarks and reports.
    public static func pairingCount(_ ciphertext: Ciphertext, with key: DecryptionKey) -> Int? {
        Plan.make(for: key, ciphertext).map { $0.leaves.count + 1 }
    }

    // MARK: Internals

    static func nonZeroRandom() -> Fr {
        while true {
            let value = Fr.random()
            if !value.isZero { return value }
        }
    }

    /// Shamir-shares `secret` down the tree: a k-of-n gate gives child i (1-based) the value at i of a
    /// random polynomial of degree k−1 whose constant term is the gate's own share.
    static func share(_ secret: Fr, over policy: Policy, into shares: inout [Fr]) {
        switch policy {
        case .attribute:
            shares.append(secret)
        case .threshold(let k, let children):
            let coefficients = [secret] + (1..<k).map { _ in Fr.random() }
            for (offset, child) in children.enumerated() {
                let x = Fr(UInt64(offset + 1))
                let value = coefficients.reversed().reduce(Fr.zero) { $0 * x + $1 }  // Horner
                share(value, over: child, into: &shares)
            }
        }
    }

    /// `HKDF-SHA256(ikm: e(g1,g2)^{αs} serialized, info: "twin.kpabe.v1.dem")` → AES-256 key, GCM nonce.
    /// A fresh s per ciphertext makes the pair single-use.
    static func dataEncapsulationKey(_ session: GT) -> (SymmetricKey, AES.GCM.Nonce) {
        let okm = HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: session.bytes),
                                         info: Array("twin.kpabe.v1.dem".utf8), outputByteCount: 44)
        return okm.withUnsafeBytes { raw in
            (SymmetricKey(data: raw.prefix(32)), try! AES.GCM.Nonce(data: raw.suffix(12)))
        }
    }
}

/// A minimal satisfying set of leaves with their Lagrange coefficients, i.e. the ω_j with
/// Σ ω_j λ_j = α for the leaves used.
struct Plan {
    struct Leaf {
        var leaf: Int  // index into the key's components
        var attribute: Int  // index into the ciphertext's attributes
        var coefficient: Fr
    }

    var leaves: [Leaf]

    /// The plan for decrypting `ciphertext` with `key`, or nil when its policy is not satisfied.
    static func make(for key: DecryptionKey, _ ciphertext: Ciphertext) -> Plan? {
        let index = Dictionary(uniqueKeysWithValues: ciphertext.attributes.enumerated().map { ($1, $0) })
        var leafNumber = 0
        return make(key.policy, available: index, leafNumber: &leafNumber)
    }

    /// Walks the whole tree (so leaf numbering stays right) and, at each k-of-n gate, keeps the k
    /// satisfiable children that need the fewest leaves: fewest pairings overall.
    static func make(_ policy: Policy, available: [String: Int], leafNumber: inout Int) -> Plan? {
        switch policy {
        case .attribute(let name):
            defer { leafNumber += 1 }
            guard let attribute = available[name] else { return nil }
            return Plan(leaves: [Leaf(leaf: leafNumber, attribute: attribute, coefficient: .one)])
        case .threshold(let k, let children):
            var candidates: [(index: Int, plan: Plan)] = []
            for (offset, child) in children.enumerated() {
                if let plan = make(child, available: available, leafNumber: &leafNumber) {
                    candidates.append((offset + 1, plan))
                }
            }
            guard candidates.count >= k else { return nil }
            let chosen = candidates.sorted { ($0.plan.leaves.count, $0.index) < ($1.plan.leaves.count, $1.index) }.prefix(k)
            let indices = chosen.map { Fr(UInt64($0.index)) }
            var leaves: [Leaf] = []
            for (position, candidate) in chosen.enumerated() {
                // Δ_i(0) = Π_{j ≠ i} j / (j − i)
                var numerator = Fr.one, denominator = Fr.one
                for (other, j) in indices.enumerated() where other != position {
                    numerator *= j
                    denominator *= j - indices[position]
                }
                let lagrange = numerator * denominator.inverse()
                leaves += candidate.plan.leaves.map { Leaf(leaf: $0.leaf, attribute: $0.attribute, coefficient: $0.coefficient * lagrange) }
            }
            return Plan(leaves: leaves)
        }
    }
}
