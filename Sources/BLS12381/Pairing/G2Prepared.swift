/// The Miller-loop lines of one G2 point, computed once for a point that is paired again and again
/// (a KP-ABE key's components meet every ciphertext they decrypt). A line's coefficients depend only
/// on the G2 point, so a prepared pair skips the doubling and addition steps; and each line is
/// divided by its constant coefficient (an F_p² factor, which the final exponentiation removes), so
/// multiplying it into f takes 9 F_p² products instead of 13 (`Fp12.mulBy1_14`).
public struct G2Prepared: Sendable {
    /// One (cx, cy) per doubling and addition step, in loop order, meaning 1 + cx·x_P·v + cy·y_P·vw;
    /// empty for the identity.
    let lines: [(Fp2, Fp2)]

    public init(_ q: G2Affine) {
        guard !q.infinity else { lines = []; return }
        var raw: [(Fp2, Fp2, Fp2)] = []
        raw.reserveCapacity(MillerLoop.stepCount)
        var t = G2Projective(q)
        for i in stride(from: 62, through: 0, by: -1) {
            raw.append(MillerLoop.doublingStep(&t))
            if (ScalarDecomposition.z >> UInt64(i)) & 1 == 1 { raw.append(MillerLoop.additionStep(&t, q)) }
        }
        // One inversion for all constant coefficients (Montgomery's trick). A zero coefficient, which
        // a point of order r never gives (it would put Q on the line's axis), is refused rather than
        // divided by.
        var running = [Fp2](repeating: .one, count: raw.count + 1)
        for (i, line) in raw.enumerated() {
            precondition(!line.0.isZero, "G2Prepared: a Miller line with no constant term")
            running[i + 1] = running[i] * line.0
        }
        var inverse = running[raw.count].inverse()
        var lines = [(Fp2, Fp2)](repeating: (.zero, .zero), count: raw.count)
        for i in stride(from: raw.count - 1, through: 0, by: -1) {
            let inverseOfThis = inverse * running[i]
            inverse = inverse * raw[i].0
            lines[i] = (raw[i].1 * inverseOfThis, raw[i].2 * inverseOfThis)
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
