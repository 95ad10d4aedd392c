import CFpKernel

// The F_p products every field above F_p is built from, each taking one of two paths chosen once per
// process: the mulx/adcx/adox assembly kernels (Sources/CFpKernel) on x86-64 CPUs with BMI2 and ADX,
// or the portable Swift code. Both compute the same values; the tests compare them on random and edge
// inputs. The choice is a load of a flag fixed before `main`, so the branch is always predicted.

/// Which implementation the field products use.
public enum FieldKernel: Sendable {
    /// The x86-64 mulx/adcx/adox kernels.
    case mulx
    /// Swift on 64-bit words, for any CPU.
    case portable

    /// The implementation in use: `mulx` where the CPU has BMI2 and ADX, unless the environment
    /// variable TWIN_FP_KERNEL=portable was set when the process started.
    public static var current: FieldKernel { twin_fp_kernel_uses_mulx() != 0 ? .mulx : .portable }

    /// Selects an implementation, for tests and benchmarks that compare both; `mulx` is refused
    /// (keeping `portable`) where the CPU lacks it. Not for use while other threads compute.
    @discardableResult
    public static func select(_ kernel: FieldKernel) -> FieldKernel {
        twin_fp_kernel_select_mulx(kernel == .mulx ? 1 : 0) != 0 ? .mulx : .portable
    }
}

extension Fp {
    /// Montgomery product a·b·R^{-1} mod p.
    @inline(__always) @usableFromInline
    static func mul(_ a: Fp, _ b: Fp) -> Fp {
        if twin_fp_kernel_uses_mulx() != 0 {
            var a = a, b = b, r = Fp(0, 0, 0, 0, 0, 0)
            twin_fp_mul_mulx(&r, &a, &b)
            return r
        }
        return mulPortable(a, b)
    }

    /// Squaring: the kernel's product of a with itself, or the portable dedicated squaring (21 word
    /// products instead of 36, then one Montgomery reduction).
    @inline(__always) @usableFromInline
    static func square(_ a: Fp) -> Fp {
        if twin_fp_kernel_uses_mulx() != 0 { return mul(a, a) }
        return FpWide.squarePortable(a).reducedPortable()
    }
}

extension FpWide {
    /// a·b as a 12-limb integer (any 6-limb inputs).
    @inline(always)
    static func product(_ a: Fp, _ b: Fp) -> FpWide {
        if twin_fp_kernel_uses_mulx() != 0 {
            var a = a, b = b, r = FpWide(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            twin_fp_product_mulx(&r, &a, &b)
            return r
        }
        return productPortable(a, b)
    }

    /// a² as a 12-limb integer.
    @inline(always)
    static func square(_ a: Fp) -> FpWide {
        if twin_fp_kernel_uses_mulx() != 0 { return product(a, a) }
        return squarePortable(a)
    }

    /// Montgomery reduction self·2^-384 mod p, fully reduced; requires self < p·2^384.
    @inline(always)
    func reduced() -> Fp {
        if twin_fp_kernel_uses_mulx() != 0 {
            var t = self, r = Fp(0, 0, 0, 0, 0, 0)
            twin_fp_reduce_mulx(&r, &t)
            return r
        }
        return reducedPortable()
    }
}

extension Fp2 {
    /// Karatsuba product with lazy reduction: three double-width products, two reductions.
    @inline(__always) @usableFromInline
    static func mul(_ a: Fp2, _ b: Fp2) -> Fp2 {
        if twin_fp_kernel_uses_mulx() != 0 {
            var a = a, b = b, r = Fp2(c0: Fp(0, 0, 0, 0, 0, 0), c1: Fp(0, 0, 0, 0, 0, 0))
            twin_fp2_mul_mulx(&r, &a, &b)
            return r
        }
        return mulPortable(a, b)
    }

    /// Complex squaring (c0 + c1)(c0 − c1) + 2c0c1·u.
    @inline(__always) @usableFromInline
    static func square(_ a: Fp2) -> Fp2 {
        if twin_fp_kernel_uses_mulx() != 0 {
            var a = a, r = Fp2(c0: Fp(0, 0, 0, 0, 0, 0), c1: Fp(0, 0, 0, 0, 0, 0))
            twin_fp2_square_mulx(&r, &a)
            return r
        }
        return squarePortable(a)
    }
}

extension Fp2Wide {
    /// a² for reduced a, unreduced: c0 = (a0 + a1)(a0 − a1) ∈ [0, 2p²), c1 = 2a0·a1 ∈ [0, 2p²).
    @inline(always)
    static func square(_ a: Fp2) -> Fp2Wide {
        if twin_fp_kernel_uses_mulx() != 0 {
            var a = a
            let zero = FpWide(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            var r = Fp2Wide(c0: zero, c1: zero)
            twin_fp2_square_product_mulx(&r, &a)
            return r
        }
        return squarePortable(a)
    }

    /// a·b for reduced a, b, unreduced: c0 = a0b0 − a1b1 ∈ (−p², p²), c1 = a0b1 + a1b0 ∈ [0, 2p²).
    @inline(always)
    static func product(_ a: Fp2, _ b: Fp2) -> Fp2Wide {
        if twin_fp_kernel_uses_mulx() != 0 {
            var a = a, b = b
            let zero = FpWide(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            var r = Fp2Wide(c0: zero, c1: zero)
            twin_fp2_product_mulx(&r, &a, &b)
            return r
        }
        return productPortable(a, b)
    }
}

extension Fp12 {
    /// self·(ℓ0 + ℓ1·v + ℓ4·v·w): one composite kernel for `mulBy014Portable` where the kernels are in
    /// use (the three coefficients are passed as one 36-limb tuple).
    @inline(__always)
    func mulBy014(_ l0: Fp2, _ l1: Fp2, _ l4: Fp2) -> Fp12 {
        if twin_fp_kernel_uses_mulx() != 0 {
            var f = self, line = (l0, l1, l4), r = Fp12.one
            twin_fp12_mul_by_014_mulx(&r, &f, &line)
            return r
        }
        return mulBy014Portable(l0, l1, l4)
    }

    /// self·(1 + ℓ1·v + ℓ4·v·w), likewise for `mulBy1_14Portable`.
    @inline(__always)
    func mulBy1_14(_ l1: Fp2, _ l4: Fp2) -> Fp12 {
        if twin_fp_kernel_uses_mulx() != 0 {
            var f = self, line = (l1, l4), r = Fp12.one
            twin_fp12_mul_by_1_14_mulx(&r, &f, &line)
            return r
        }
        return mulBy1_14Portable(l1, l4)
    }

    /// (a + b·w)² = (a² + ξb², 2ab) in F_p⁴, for the cyclotomic squaring.
    @inline(always)
    static func fp4Square(_ a: Fp2, _ b: Fp2) -> (Fp2, Fp2) {
        if twin_fp_kernel_uses_mulx() != 0 {
            var a = a, b = b
            let zero = Fp2(c0: Fp(0, 0, 0, 0, 0, 0), c1: Fp(0, 0, 0, 0, 0, 0))
            var r = (zero, zero)
            twin_fp4_square_mulx(&r, &a, &b)
            return r
        }
        return fp4SquarePortable(a, b)
    }
}

extension Fp6 {
    /// The product: one mulx kernel for the whole of `productPortable` (six F_p² products kept
    /// double-width, six reductions) where the kernels are in use.
    @inline(__always)
    static func * (a: Fp6, b: Fp6) -> Fp6 {
        if twin_fp_kernel_uses_mulx() != 0 {
            var a = a, b = b, r = Fp6.zero
            twin_fp6_mul_mulx(&r, &a, &b)
            return r
        }
        return productPortable(a, b)
    }
}
