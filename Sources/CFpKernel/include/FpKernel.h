#ifndef TWIN_FP_KERNEL_H
#define TWIN_FP_KERNEL_H

// BLS12-381 F_p kernels in x86-64 assembly (mulx, adcx, adox), for the Swift field code to select at
// run time. Operands are six or twelve little-endian 64-bit limbs; every function is branch-free.
// On other CPUs and platforms `twin_fp_mulx_enabled` stays 0 and the functions must not be called.

/// 1 when this CPU has BMI2 and ADX and TWIN_FP_KERNEL is not "portable" (read once, at load).
extern int twin_fp_mulx_enabled;

/// Montgomery product a·b·2^-384 mod p, fully reduced; a, b < p.
void twin_fp_mul_mulx(void *out, const void *a, const void *b);
/// The 12-limb product a·b of any 6-limb a, b.
void twin_fp_product_mulx(void *out, const void *a, const void *b);
/// Montgomery reduction t·2^-384 mod p of a 12-limb t < p·2^384, fully reduced.
void twin_fp_reduce_mulx(void *out, const void *t);

/// F_p² Karatsuba products of reduced a, b (12 limbs each: c0 then c1), unreduced: out[0..11] =
/// a0·b0 − a1·b1 (two's complement, in (−p², p²)), out[12..23] = a0·b1 + a1·b0 (in [0, 2p²)).
void twin_fp2_product_mulx(void *out, const void *a, const void *b);
/// F_p² product a·b of reduced a, b, fully reduced (12 limbs: c0 then c1).
void twin_fp2_mul_mulx(void *out, const void *a, const void *b);

/// F_p² complex squaring of a reduced a, unreduced: out[0..11] = (a0 + a1)(a0 − a1), out[12..23] =
/// 2a0·a1 (both in [0, 2p²)).
void twin_fp2_square_product_mulx(void *out, const void *a);
/// F_p² square of a reduced a, fully reduced.
void twin_fp2_square_mulx(void *out, const void *a);

/// (a + b·w)² = (a² + ξ·b², 2ab) for reduced F_p² elements a, b (the F_p⁴ squaring inside the
/// cyclotomic squaring); out = c0 then c1, 12 limbs each, fully reduced.
void twin_fp4_square_mulx(void *out, const void *a, const void *b);

/// Granger–Scott squaring of a reduced F_p¹² element of the cyclotomic subgroup (72 limbs: the F_p²
/// elements c0.c0, c0.c1, c0.c2, c1.c0, c1.c1, c1.c2); fully reduced, `out` may be `a`.
void twin_fp12_cyclotomic_square_mulx(void *out, const void *a);

/// The product of reduced F_p⁶ elements (36 limbs: c0, c1, c2), as `Fp6.productPortable`; fully
/// reduced, `out` may be `a` or `b`.
void twin_fp6_mul_mulx(void *out, const void *a, const void *b);

/// The complete sum of two G1 points in homogeneous projective coordinates (18 limbs: X, Y, Z, each
/// a reduced F_p element), as `G1Projective.sumPortable`; `out` may be `p` or `q`.
void twin_g1_add_mulx(void *out, const void *p, const void *q);

/// The double of a G1 point (layout as above), as `G1Projective.doubledPortable()`; `out` may be `p`.
void twin_g1_double_mulx(void *out, const void *p);

/// The complete sum of two G2 points in homogeneous projective coordinates (36 limbs: X, Y, Z, each
/// a reduced F_p² element), as `G2Projective.sumPortable`; `out` may be `p` or `q`.
void twin_g2_add_mulx(void *out, const void *p, const void *q);

/// The double of a G2 point (layout as above), as `G2Projective.doubledPortable()`; `out` may be `p`.
void twin_g2_double_mulx(void *out, const void *p);

/// f·(ℓ0 + ℓ1·v + ℓ4·v·w) for a reduced F_p¹² element f (72 limbs) and a sparse line (36 limbs: the
/// F_p² coefficients ℓ0, ℓ1, ℓ4), as `Fp12.mulBy014Portable`; `out` may be `f`.
void twin_fp12_mul_by_014_mulx(void *out, const void *f, const void *line);

/// f·(1 + ℓ1·v + ℓ4·v·w) for a prepared line (24 limbs: ℓ1, ℓ4), as `Fp12.mulBy1_14Portable`;
/// `out` may be `f`.
void twin_fp12_mul_by_1_14_mulx(void *out, const void *f, const void *line);

/// Whether the mulx kernels are in use (a plain load, inlined into the Swift callers).
static inline int twin_fp_kernel_uses_mulx(void) { return twin_fp_mulx_enabled; }

/// 1 when this CPU has BMI2 and ADX (whatever the setting).
int twin_fp_cpu_has_mulx(void);

/// Switches the kernels off (0) or back on (1, only where the CPU has them); for tests and benchmarks
/// comparing both paths. Returns the setting in effect.
int twin_fp_kernel_select_mulx(int enabled);

#endif
