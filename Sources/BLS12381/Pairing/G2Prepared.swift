/// The Miller-loop lines of one G2 point, computed once for a point that is paired again and again
/// (a KP-ABE key's components meet every ciphertext they decrypt). A line's coefficients depend only
/// on the G2 point; evaluating it at the G1 point is two F_p² × F_p products, so a prepared pair skips
/// the doubling and addition steps, about a third of its share of the loop.
public struct G2Prepared: Sendable {
    /// One (c0, cx, cy) per doubling and addition step, in loop order; empty for the identity.
    let lines: [(Fp2, Fp2, Fp2)]

    public init(_ q: G2Affine) {
        guard !q.infinity else { lines = []; return }
        var lines: [(Fp2, Fp2, Fp2)] = []
        lines.reserveCapacity(MillerLoop.stepCount)
        var t = G2Projective(q)
        for i in stride(from: 62, through: 0, by: -1) {
            lines.append(MillerLoop.doublingStep(&t))
            if (ScalarDecomposition.z >> UInt64(i)) & 1 == 1 { lines.append(MillerLoop.additionStep(&t, q)) }
        }
        self.lines = lines
    }

    var isIdentity: Bool { lines.isEmpty }
}

/// Π e(Pᵢ, Qᵢ) · Π e(P'ⱼ, Q'ⱼ) for points Qᵢ and prepared points Q'ⱼ: one shared Miller loop and one
/// final exponentiation, equal to `multiPairing` over all the pairs.
public func multiPairing(_ pairs: [(G1Affine, G2Affine)], prepared: [(G1Affine, G2Prepared)]) -> GT {
    GT(unchecked: FinalExponentiation.apply(MillerLoop.run(pairs, prepared: prepared)))
}
