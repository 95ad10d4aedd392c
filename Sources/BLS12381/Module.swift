/// BLS12381 owns the BLS12-381 pairing-friendly curve for TwinStore: the base field F_p (six-limb
/// Montgomery arithmetic), the scalar field F_r, the tower F_p² / F_p⁶ / F_p¹², the groups G1 and G2
/// (complete projective formulas, constant-time scalar multiplication for secrets, GLV/GLS-accelerated
/// variable-time multiplication and Pippenger multi-scalar multiplication for public values, fast
/// subgroup checks), the optimal-ate pairing with multi-pairing and exact final exponentiation, the
/// target group GT, RFC 9380 hashing to G1 (BLS12381G1_XMD:SHA-256_SSWU_RO_), ZCash-format point
/// serialization with full validation, and the known-answer vector checker used by tests and the CLI.
/// It is Swift with value types only, depends on swift-crypto solely for SHA-256, and on x86-64 CPUs
/// with BMI2 and ADX runs its F_p products in the assembly kernels of `CFpKernel`, chosen at load
/// (`FieldKernel`); the portable Swift path computes the same values everywhere else.
public enum BLS12381 {}
