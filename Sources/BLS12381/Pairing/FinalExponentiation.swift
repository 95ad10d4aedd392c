/// Final exponentiation f ↦ f^((p¹² − 1)/r), computed exactly (the result equals the reduced pairing
/// value of py_ecc / arkworks, not a fixed power of it).
///
/// Easy part: (p⁶ − 1)(p² + 1) with one inversion and Frobenius. Hard part: (p⁴ − p² + 1)/r, written as
/// ((x − 1)²/3)·(x + p)·(x² + p² − 1) + 1 — the Hayashida–Hayasaka–Teruya decomposition divided by 3;
/// x ≡ 1 (mod 3) so (x − 1)/3 is an integer and only that factor needs a general 64-bit exponent.
enum FinalExponentiation {
    /// (|x| + 1)/3 = 0x460055555555aaab, so (x − 1)/3 = −(|x| + 1)/3.
    static let zPlusOneOverThree: UInt64 = 0x460055555555aaab

    static func apply(_ f: Fp12) -> Fp12 {
        // easy part
        var t = f.conjugate() * f.inverse()
        t = t.frobenius(2) * t
        // hard part (t is now in the cyclotomic subgroup)
        let a1 = t.cyclotomicPowZPlusOneOverThree().conjugate()         // t^((x−1)/3)
        let a = (a1.cyclotomicPowAbsX() * a1).conjugate()                // a1^(x−1) = t^((x−1)²/3)
        let b = a.cyclotomicPowX() * a.frobenius(1)                      // a^(x+p)
        let c = b.cyclotomicPowAbsX().cyclotomicPowAbsX() * b.frobenius(2) * b.conjugate() // b^(x²+p²−1)
        return c * t
    }
}
