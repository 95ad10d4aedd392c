#!/usr/bin/env python3
"""Writes Sources/CFpKernel/FpKernel.S: BLS12-381 F_p kernels for x86-64 CPUs with BMI2 and ADX
(mulx, adcx, adox), which the Swift field code selects at run time (Sources/CFpKernel/FpKernel.c
checks CPUID). mulx multiplies without touching the flags, and adcx / adox carry along two
independent chains (CF and OF), so a row of products and its additions into the accumulator run
as two interleaved carry chains; LLVM emits neither instruction for the portable Swift code.

Sixteen functions, System V ABI, all branch-free (constant time):
  twin_fp_mul_mulx(out[6], a[6], b[6])       Montgomery product a·b·2^-384 mod p, fully reduced (a, b < p)
  twin_fp_product_mulx(out[12], a[6], b[6])  the 12-limb product a·b (any 6-limb a, b)
  twin_fp_reduce_mulx(out[6], t[12])         Montgomery reduction of t < p·2^384, fully reduced
  twin_fp2_product_mulx(out[24], a[12], b[12]) F_p² Karatsuba products, unreduced (c0 signed)
  twin_fp2_mul_mulx(out[12], a[12], b[12])   F_p² product, fully reduced (a, b reduced)
  twin_fp2_square_product_mulx(out[24], a[12]) F_p² complex squaring, unreduced
  twin_fp2_square_mulx(out[12], a[12])         F_p² square, fully reduced
  twin_fp4_square_mulx(out[24], a[12], b[12])  (a + b·w)² in F_p⁴ for the cyclotomic squaring
The first eight are straight-line. The rest are composites, whose products call those eight:
  twin_fp12_cyclotomic_square_mulx(out[72], a[72]) Granger–Scott squaring in the cyclotomic subgroup
  twin_fp6_mul_mulx(out[36], a[36], b[36])     F_p⁶ Karatsuba product with lazy reduction
  twin_g1_add_mulx(out[18], p[18], q[18])      complete G1 addition (projective)
  twin_g1_double_mulx(out[18], p[18])          G1 doubling (projective)
  twin_g2_add_mulx(out[36], p[36], q[36])      complete G2 addition (projective)
  twin_g2_double_mulx(out[36], p[36])          G2 doubling (projective)
  twin_fp12_mul_by_014_mulx(out[72], f[72], l[36]) f times a sparse line ℓ0 + ℓ1·v + ℓ4·v·w
  twin_fp12_mul_by_1_14_mulx(out[72], f[72], l[24]) f times a prepared line 1 + ℓ1·v + ℓ4·v·w

Run it again after changing the shape of the code below; the Swift tests compare every function
with the portable path on random and edge inputs."""
import pathlib

P = [0xb9feffffffffaaab, 0x1eabfffeb153ffff, 0x6730d2a0f6b0f624,
     0x64774b84f38512bf, 0x4b1ba7b6434bacd7, 0x1a0111ea397fe69a]
INV = 0x89f3fffcfffcfffd  # -p^-1 mod 2^64
SAVED = ["%rbx", "%rbp", "%r12", "%r13", "%r14", "%r15"]
LO, HI, ZERO = "%rax", "%rbx", "%rbp"

out = []
e = out.append


def function(name, body):
    e(f"    .globl {name}")
    e(f"    .type {name}, @function")
    e("    .p2align 5")
    e(f"{name}:")
    e("    .cfi_startproc")
    for r in SAVED:
        e(f"    pushq {r}")
        e("    .cfi_adjust_cfa_offset 8")
    body()
    for r in reversed(SAVED):
        e(f"    popq {r}")
        e("    .cfi_adjust_cfa_offset -8")
    e("    ret")
    e("    .cfi_endproc")
    e(f"    .size {name}, .-{name}")
    e("")


def modulus(j):
    return f".Ltwin_p+{8 * j}(%rip)"


def reduction_round(t):
    """t (7 registers, t[6] = 0 or a value whose sum stays in 7 words) += m·p with m = t[0]·INV,
    so that t[0] becomes 0. Returns the registers shifted down one word, the zeroed one on top."""
    e(f"    movabsq ${INV:#x}, %rdx")
    e(f"    imulq {t[0]}, %rdx")
    e(f"    xorl %ebp, %ebp")  # ZERO = 0, and CF = OF = 0
    for j in range(6):
        e(f"    mulxq {modulus(j)}, {LO}, {HI}")
        e(f"    adcxq {LO}, {t[j]}")
        e(f"    adoxq {HI}, {t[j + 1]}")
    e(f"    adcxq {ZERO}, {t[6]}")
    return t[1:] + t[:1]


def multiply_row(t, a, b):
    """t (7 registers, t[6] = 0 on entry) += a·b, for a six-limb operand `a` (a function from limb
    index to memory operand) and one limb `b` (a memory operand)."""
    e(f"    movq {b}, %rdx")
    e(f"    xorl %ebp, %ebp")
    for j in range(6):
        e(f"    mulxq {a(j)}, {LO}, {HI}")
        e(f"    adcxq {LO}, {t[j]}")
        e(f"    adoxq {HI}, {t[j + 1]}")
    e(f"    adcxq {ZERO}, {t[6]}")


def first_row(t, a, b):
    """t = a·b (t[0..6]) for a six-limb `a` and one limb `b`."""
    e(f"    movq {b}, %rdx")
    e(f"    xorl %ebp, %ebp")
    e(f"    mulxq {a(0)}, {t[0]}, {t[1]}")
    for j in range(1, 6):
        e(f"    mulxq {a(j)}, {LO}, {t[j + 1]}")
        e(f"    adcxq {LO}, {t[j]}")
    e(f"    adcxq {ZERO}, {t[6]}")


def limbs(base, offset=0):
    """The memory operands of consecutive limbs from byte `offset` of pointer register `base`."""
    return lambda j: f"{offset + 8 * j}({base})"


def zero(register):
    return f"    xorl {register}d, {register}d" if register[2:].isdigit() else f"    xorq {register}, {register}"


def subtract_modulus_and_store(t, scratch, out):
    """Stores t − p when t ≥ p, else t (t < 2p), chosen by the borrow through cmov (no branch)."""
    for j in range(6):
        e(f"    movq {t[j]}, {scratch[j]}")
        e(f"    {'subq' if j == 0 else 'sbbq'} {modulus(j)}, {scratch[j]}")
    for j in range(6):
        e(f"    cmovcq {t[j]}, {scratch[j]}")  # borrow: t < p, keep t
    for j in range(6):
        e(f"    movq {scratch[j]}, {out(j)}")


T = ["%r8", "%r9", "%r10", "%r11", "%r12", "%r13", "%r14"]


def montgomery_product_block(out, a, b):
    t = list(T)
    first_row(t, a, b(0))
    t = reduction_round(t)
    for i in range(1, 6):
        multiply_row(t, a, b(i))
        t = reduction_round(t)
    # t[0..5] < 2p; t[6] is the zeroed register.
    subtract_modulus_and_store(t, ["%rax", "%rbx", "%rbp", "%rdx", "%r15", t[6]], out)


def product_block(out, a, b):
    """out (12 limbs) = a·b (6 limbs each)."""
    t = list(T)
    first_row(t, a, b(0))
    e(f"    movq {t[0]}, {out(0)}")
    t = t[1:] + t[:1]
    for i in range(1, 6):
        e(zero(t[6]))
        multiply_row(t, a, b(i))
        e(f"    movq {t[0]}, {out(i)}")
        t = t[1:] + t[:1]
    for j in range(6):
        e(f"    movq {t[j]}, {out(6 + j)}")


def reduce_block(out, value):
    """out (6 limbs) = REDC(value) for a 12-limb value < p·2^384: the low half reduced, then the high
    half added. (t_lo + m·p)/2^384 ≤ p and t_hi < p, so the sum is below 2p; one subtraction ends it."""
    t = list(T)
    for j in range(6):
        e(f"    movq {value(j)}, {t[j]}")
    e(zero(t[6]))
    for _ in range(6):
        t = reduction_round(t)
    for j in range(6):
        e(f"    {'addq' if j == 0 else 'adcq'} {value(6 + j)}, {t[j]}")
    subtract_modulus_and_store(t, ["%rax", "%rbx", "%rbp", "%rdx", "%r15", t[6]], out)


def add_block(out, a, b, n):
    """out = a + b over n limbs, carry dropped (memory operands; flags carried by mov-free adc)."""
    for j in range(n):
        e(f"    movq {a(j)}, %rax")
        e(f"    {'addq' if j == 0 else 'adcq'} {b(j)}, %rax")
        e(f"    movq %rax, {out(j)}")


def subtract_block(out, a, b, n):
    """out = a − b over n limbs, two's complement (borrow dropped)."""
    for j in range(n):
        e(f"    movq {a(j)}, %rax")
        e(f"    {'subq' if j == 0 else 'sbbq'} {b(j)}, %rax")
        e(f"    movq %rax, {out(j)}")


def add_high_modulus_if_negative(value):
    """value (12 limbs, two's complement) += p·2^384 when its top bit is set, through a mask."""
    e(f"    movq {value(11)}, %rax")
    e(f"    sarq $63, %rax")
    for j in range(6):
        e(f"    movq {modulus(j)}, {T[j]}")
        e(f"    andq %rax, {T[j]}")
    for j in range(6):
        e(f"    {'addq' if j == 0 else 'adcq'} {T[j]}, {value(6 + j)}")


def karatsuba_products(c0, c1, a, b, stack):
    """c0 = a0·b0 − a1·b1 and c1 = (a0 + a1)(b0 + b1) − a0·b0 − a1·b1 (12 limbs each, c0 signed), for
    F_p² operands a = (a0, a1), b = (b0, b1) given as functions of a limb index 0…11."""
    sa, sb, v1 = limbs("%rsp", stack), limbs("%rsp", stack + 48), limbs("%rsp", stack + 96)
    shift = lambda f, k: (lambda j: f(j + k))
    add_block(sa, a, shift(a, 6), 6)      # a0 + a1 < 2p < 2^384
    add_block(sb, b, shift(b, 6), 6)
    product_block(c0, a, b)               # v0, completed into c0 below
    product_block(v1, shift(a, 6), shift(b, 6))
    product_block(c1, sa, sb)
    subtract_block(c1, c1, c0, 12)
    subtract_block(c1, c1, v1, 12)
    subtract_block(c0, c0, v1, 12)


def modular_difference_block(out, a, b):
    """out = a − b mod p for reduced a, b (6 limbs): p is added back, through a mask, on a borrow."""
    for j in range(6):
        e(f"    movq {a(j)}, {T[j]}")
        e(f"    {'subq' if j == 0 else 'sbbq'} {b(j)}, {T[j]}")
    e("    sbbq %rax, %rax")  # all ones on a borrow
    for j in range(6):
        e(f"    movq {modulus(j)}, %rbx")
        e(f"    andq %rax, %rbx")
        e(f"    movq %rbx, {out(j)}")
    for j in range(6):
        e(f"    {'addq' if j == 0 else 'adcq'} {out(j)}, {T[j]}")
    for j in range(6):
        e(f"    movq {T[j]}, {out(j)}")


def complex_squares(c0, c1, a, stack):
    """c0 = (a0 + a1)(a0 − a1) and c1 = 2a0·a1 (12 limbs each, both in [0, 2p²)) for a reduced F_p²
    element a = (a0, a1) given as a function of a limb index 0…11."""
    total, difference, twice = limbs("%rsp", stack), limbs("%rsp", stack + 48), limbs("%rsp", stack + 96)
    high = lambda j: a(j + 6)
    add_block(total, a, high, 6)           # a0 + a1 < 2p
    modular_difference_block(difference, a, high)
    add_block(twice, a, a, 6)              # 2a0 < 2p
    product_block(c0, total, difference)
    product_block(c1, twice, high)


def fp2_square_product():
    # rdi = out[24], rsi = a[12]
    e("    subq $144, %rsp")
    e("    .cfi_adjust_cfa_offset 144")
    complex_squares(limbs("%rdi"), limbs("%rdi", 96), limbs("%rsi"), 0)
    e("    addq $144, %rsp")
    e("    .cfi_adjust_cfa_offset -144")


def fp2_square():
    # rdi = out[12], rsi = a[12]
    e("    subq $336, %rsp")
    e("    .cfi_adjust_cfa_offset 336")
    c0, c1 = limbs("%rsp", 144), limbs("%rsp", 240)
    complex_squares(c0, c1, limbs("%rsi"), 0)
    reduce_block(limbs("%rdi"), c0)
    reduce_block(limbs("%rdi", 48), c1)
    e("    addq $336, %rsp")
    e("    .cfi_adjust_cfa_offset -336")


def modular_sum_block(out, a, b):
    """out = a + b mod p for reduced a, b (6 limbs)."""
    t = list(T)
    for j in range(6):
        e(f"    movq {a(j)}, {t[j]}")
    for j in range(6):
        e(f"    {'addq' if j == 0 else 'adcq'} {b(j)}, {t[j]}")
    subtract_modulus_and_store(t, ["%rax", "%rbx", "%rbp", "%rdx", "%r15", t[6]], out)


def fp4_square_block(out, a, b, stack):
    """out (24 limbs: c0 then c1, reduced F_p² elements) = (a + b·w)² in F_p⁴ for reduced F_p² a, b
    (limb functions 0…11): (a² + ξ·b², 2ab) with 2ab = (a + b)² − a² − b². Three complex squarings
    kept double-width, four reductions; the sums lie in (−2p², 6p²) and (−4p², 2p²), inside
    ±p·2^384. Uses 816 bytes of stack from `stack`."""
    scratch, total = stack, limbs("%rsp", stack + 144)         # complex_squares scratch; a + b
    sa0, sa1 = limbs("%rsp", stack + 240), limbs("%rsp", stack + 336)    # a²: c0, c1 (12 limbs each)
    sb0, sb1 = limbs("%rsp", stack + 432), limbs("%rsp", stack + 528)    # b²
    ss0, ss1 = limbs("%rsp", stack + 624), limbs("%rsp", stack + 720)    # (a + b)²
    shift = lambda f, k: (lambda j: f(j + k))
    modular_sum_block(total, a, b)
    modular_sum_block(shift(total, 6), shift(a, 6), shift(b, 6))
    complex_squares(sa0, sa1, a, scratch)
    complex_squares(sb0, sb1, b, scratch)
    complex_squares(ss0, ss1, total, scratch)
    # c1 = (a + b)² − a² − b²  (into ss)
    subtract_block(ss0, ss0, sa0, 12); subtract_block(ss0, ss0, sb0, 12)
    subtract_block(ss1, ss1, sa1, 12); subtract_block(ss1, ss1, sb1, 12)
    # c0 = a² + ξ·b² = (a²₀ + b²₀ − b²₁, a²₁ + b²₀ + b²₁)  (into sa)
    add_block(sa1, sa1, sb0, 12); add_block(sa1, sa1, sb1, 12)
    add_block(sa0, sa0, sb0, 12); subtract_block(sa0, sa0, sb1, 12)
    for value, k in ((sa0, 0), (sa1, 6), (ss0, 12), (ss1, 18)):
        add_high_modulus_if_negative(value)
        reduce_block(shift(out, k), value)


def fp4_square():
    # rdi = out[24] (c0, c1 ∈ F_p², reduced), rsi = a[12], rdx = b[12] (reduced F_p² elements)
    e("    movq %rdx, %rcx")
    e("    subq $816, %rsp")
    e("    .cfi_adjust_cfa_offset 816")
    fp4_square_block(limbs("%rdi"), limbs("%rsi"), limbs("%rcx"), 0)
    e("    addq $816, %rsp")
    e("    .cfi_adjust_cfa_offset -816")


def cyclotomic_square():
    # rdi = out[72], rsi = a[72]: F_p¹² elements (c0 = (z0, z4, z3), c1 = (z2, z1, z5), F_p² each,
    # reduced); out may be a. Granger–Scott squaring in the cyclotomic subgroup: three F_p⁴
    # squarings (z0, z1), (z2, z3), (z4, z5) giving (A0, A1), (B0, B1), (C0, C1), then
    #   z0 = 3A0 − 2z0, z1 = 3A1 + 2z1, z4 = 3B0 − 2z4, z5 = 3B1 + 2z5,
    #   z2 = 3ξC1 + 2z2, z3 = 3C0 − 2z3, with ξ(x0 + x1·u) = (x0 − x1) + (x0 + x1)·u.
    # A composite (see below): the F_p⁴ squarings are calls to twin_fp4_square_mulx.
    def body(a, base):
        z = {name: a + 96 * k for k, name in enumerate(["z0", "z4", "z3", "z2", "z1", "z5"])}
        squares = {name: base + 192 * k for k, name in enumerate("ABC")}
        xi_c1, d, result = base + 576, base + 672, base + 720
        out = {name: result + 96 * k for k, name in enumerate(["z0", "z4", "z3", "z2", "z1", "z5"])}
        call("twin_fp4_square_mulx", squares["A"], z["z0"], z["z1"])
        call("twin_fp4_square_mulx", squares["B"], z["z2"], z["z3"])
        call("twin_fp4_square_mulx", squares["C"], z["z4"], z["z5"])
        C1 = squares["C"] + 96
        modular_difference_block(at(xi_c1), at(C1), at(C1 + 48))
        modular_sum_block(at(xi_c1 + 48), at(C1), at(C1 + 48))
        terms = (("z0", squares["A"], "-"), ("z1", squares["A"] + 96, "+"),
                 ("z4", squares["B"], "-"), ("z5", squares["B"] + 96, "+"),
                 ("z3", squares["C"], "-"), ("z2", xi_c1, "+"))
        for name, x, sign in terms:
            for k in (0, 48):
                xk, zk = at(x + k), at(z[name] + k)
                (modular_difference_block if sign == "-" else modular_sum_block)(at(d), xk, zk)   # x ± z
                modular_sum_block(at(d), at(d), at(d))                                           # 2(x ± z)
                modular_sum_block(at(out[name] + k), at(d), xk)                                  # 3x ± 2z
        return result
    composite(720 + 576, body, ["%rsi"], count=72)


def mul():
    # rdi = out, rsi = a, rdx = b (moved to rcx: mulx reads rdx)
    e("    movq %rdx, %rcx")
    montgomery_product_block(limbs("%rdi"), limbs("%rsi"), limbs("%rcx"))


def product():
    # rdi = out[12], rsi = a, rdx = b (moved to rcx)
    e("    movq %rdx, %rcx")
    product_block(limbs("%rdi"), limbs("%rsi"), limbs("%rcx"))


def reduce():
    # rdi = out[6], rsi = t[12]
    reduce_block(limbs("%rdi"), limbs("%rsi"))


def fp2_product():
    # rdi = out[24] (c0 then c1, 12 limbs each), rsi = a[12], rdx = b[12]
    e("    movq %rdx, %rcx")
    e("    subq $192, %rsp")
    e("    .cfi_adjust_cfa_offset 192")
    karatsuba_products(limbs("%rdi"), limbs("%rdi", 96), limbs("%rsi"), limbs("%rcx"), 0)
    e("    addq $192, %rsp")
    e("    .cfi_adjust_cfa_offset -192")


def fp2_mul():
    # rdi = out[12], rsi = a[12], rdx = b[12]: the Karatsuba products on the stack, then reduced
    e("    movq %rdx, %rcx")
    e("    subq $384, %rsp")
    e("    .cfi_adjust_cfa_offset 384")
    c0, c1 = limbs("%rsp", 192), limbs("%rsp", 288)
    karatsuba_products(c0, c1, limbs("%rsi"), limbs("%rcx"), 0)
    add_high_modulus_if_negative(c0)     # c0 ∈ (−p², p²) → [0, p·2^384)
    reduce_block(limbs("%rdi"), c0)
    reduce_block(limbs("%rdi", 48), c1)  # c1 ∈ [0, 2p²)
    e("    addq $384, %rsp")
    e("    .cfi_adjust_cfa_offset -384")



# Composite kernels: whole formulas (a group law, an F_p⁶ or sparse F_p¹² product, the cyclotomic
# squaring) in one call. Their products call the straight-line kernels above instead of repeating
# them inline, so that each composite stays within the level-1 instruction cache (written out, a
# formula is 40–80 KiB; docs/PERFORMANCE.md). What they save is the Swift around each product: copies
# of every operand in and out, and the sums. Inputs are copied to the frame first, so every operand
# is an offset from %rsp: the sums are inlined on memory operands, the products are calls (System V:
# they keep %rbx, %rbp and %r12–%r15, and the composite keeps nothing in registers across them).

def at(offset):
    """The limbs at byte `offset` of the composite's frame."""
    return limbs("%rsp", offset)


def call(function_name, *offsets):
    """Calls a kernel with pointers to frame offsets as its arguments (%rdi, %rsi, %rdx)."""
    for register, offset in zip(("%rdi", "%rsi", "%rdx"), offsets):
        e(f"    leaq {offset}(%rsp), {register}")
    e(f"    call {function_name}")


def copy_limbs(out, a, n):
    for j in range(n):
        e(f"    movq {a(j)}, %rax")
        e(f"    movq %rax, {out(j)}")


def composite(frame, body, inputs, count=36):
    """Frame layout: the inputs' copies first (from the registers of `inputs`, `count` limbs each, or
    as many as a (register, limbs) pair says), then the `frame` bytes `body` uses, then the saved
    output pointer; `body` gets the offsets of the inputs and of its own part, and returns that of the
    result (`count` limbs), which is copied to %rdi's. The frame keeps %rsp 16-byte aligned at every
    call (six pushes and the return address leave it 8 off)."""
    inputs = [i if isinstance(i, tuple) else (i, count) for i in inputs]
    offsets, size = [], 0
    for _, n in inputs:
        offsets.append(size)
        size += 8 * n
    base = size
    size += frame + 8
    size += (8 - size % 16) % 16
    out_slot = size - 8
    e(f"    subq ${size}, %rsp")
    e(f"    .cfi_adjust_cfa_offset {size}")
    e(f"    movq %rdi, {out_slot}(%rsp)")
    for (register, n), offset in zip(inputs, offsets):
        copy_limbs(at(offset), limbs(register), n)
    result = body(*offsets, base)
    e(f"    movq {out_slot}(%rsp), %rdi")
    copy_limbs(limbs("%rdi"), at(result), count)
    e(f"    addq ${size}, %rsp")
    e(f"    .cfi_adjust_cfa_offset -{size}")


def fp2_sum(out, a, b):
    """out = a + b (frame offsets; each component mod p); out may be a or b."""
    modular_sum_block(at(out), at(a), at(b))
    modular_sum_block(at(out + 48), at(a + 48), at(b + 48))


def fp2_difference(out, a, b):
    modular_difference_block(at(out), at(a), at(b))
    modular_difference_block(at(out + 48), at(a + 48), at(b + 48))


def fp2_times_3b(out, a, scratch):
    """out = 3b'·a with G2's b' = 4ξ: ξ·a = (a0 − a1) + (a0 + a1)·u into scratch, then 12x = 8x + 4x;
    out may be a."""
    modular_difference_block(at(scratch), at(a), at(a + 48))
    modular_sum_block(at(scratch + 48), at(a), at(a + 48))
    for k in (0, 48):
        t, o = at(scratch + k), at(out + k)
        modular_sum_block(o, t, t)      # 2x
        modular_sum_block(o, o, o)      # 4x
        modular_sum_block(t, o, o)      # 8x
        modular_sum_block(o, t, o)      # 12x


def wide2(op, out, a, b):
    """op (add_block or subtract_block) on double-width F_p² values: 12 limbs of c0, then of c1."""
    op(at(out), at(a), at(b), 12)
    op(at(out + 96), at(a + 96), at(b + 96), 12)


def signed_reduce(out, value):
    """out = value·2^-384 mod p for a 12-limb two's-complement value within ±p·2^384."""
    add_high_modulus_if_negative(at(value))
    call("twin_fp_reduce_mulx", out, value)


def fp2_products(out, a, b, sign, c, d, scratch):
    """out = a·b ± c·d with one reduction per component (384 bytes of scratch): the F_p² products
    lie within (−p², 2p²) per component, so the result lies within (−2p², 4p²), inside ±p·2^384."""
    u, v = scratch, scratch + 192
    call("twin_fp2_product_mulx", u, a, b)
    call("twin_fp2_product_mulx", v, c, d)
    combine = add_block if sign == "+" else subtract_block
    combine(at(u), at(u), at(v), 12)
    combine(at(u + 96), at(u + 96), at(v + 96), 12)
    signed_reduce(out, u)
    signed_reduce(out + 48, u + 96)


class G1Field:
    """F_p operations on frame offsets, for G1's group law (b = 4, so 3b = 12)."""
    size = 48

    @staticmethod
    def sum(out, a, b):
        modular_sum_block(at(out), at(a), at(b))

    @staticmethod
    def difference(out, a, b):
        modular_difference_block(at(out), at(a), at(b))

    @staticmethod
    def times_3b(out, a, scratch):
        """out = 12a = 8a + 4a; out may be a."""
        modular_sum_block(at(out), at(a), at(a))                # 2a
        modular_sum_block(at(out), at(out), at(out))            # 4a
        modular_sum_block(at(scratch), at(out), at(out))        # 8a
        modular_sum_block(at(out), at(scratch), at(out))        # 12a

    @staticmethod
    def mul(out, a, b):
        call("twin_fp_mul_mulx", out, a, b)

    @staticmethod
    def square(out, a):
        call("twin_fp_mul_mulx", out, a, a)

    @staticmethod
    def products(out, a, b, sign, c, d, scratch):
        """out = a·b ± c·d with one reduction (192 bytes of scratch): within (−p², 2p²)."""
        u, v = scratch, scratch + 96
        call("twin_fp_product_mulx", u, a, b)
        call("twin_fp_product_mulx", v, c, d)
        (add_block if sign == "+" else subtract_block)(at(u), at(u), at(v), 12)
        signed_reduce(out, u)


class G2Field:
    """F_p² operations on frame offsets, for G2's group law (b' = 4ξ)."""
    size = 96
    sum = staticmethod(fp2_sum)
    difference = staticmethod(fp2_difference)
    times_3b = staticmethod(fp2_times_3b)
    products = staticmethod(fp2_products)

    @staticmethod
    def mul(out, a, b):
        call("twin_fp2_mul_mulx", out, a, b)

    @staticmethod
    def square(out, a):
        call("twin_fp2_square_mulx", out, a)


def group_add(F):
    # rdi = out, rsi = p, rdx = q: points in homogeneous projective coordinates (X, Y, Z; reduced
    # field elements). Complete addition, Renes–Costello–Batina 2016 Algorithm 7 (a = 0), the steps
    # of the portable formula (`+` of G1, `sumPortable` of G2) with its three paired final products.
    # out may be p or q.
    n = F.size

    def body(p, q, base):
        P, Q = {c: p + n * k for k, c in enumerate("xyz")}, {c: q + n * k for k, c in enumerate("xyz")}
        names = ["t0", "t1", "t2", "t3", "t4", "x3", "y3", "z3", "X", "Y", "Z"]
        v = {name: base + n * k for k, name in enumerate(names)}
        scratch = base + n * len(names)
        F.mul(v["t0"], P["x"], Q["x"])
        F.mul(v["t1"], P["y"], Q["y"])
        F.mul(v["t2"], P["z"], Q["z"])
        F.sum(v["t3"], P["x"], P["y"])
        F.sum(v["t4"], Q["x"], Q["y"])
        F.mul(v["t3"], v["t3"], v["t4"])
        F.sum(v["t4"], v["t0"], v["t1"])
        F.difference(v["t3"], v["t3"], v["t4"])
        F.sum(v["t4"], P["y"], P["z"])
        F.sum(v["x3"], Q["y"], Q["z"])
        F.mul(v["t4"], v["t4"], v["x3"])
        F.sum(v["x3"], v["t1"], v["t2"])
        F.difference(v["t4"], v["t4"], v["x3"])
        F.sum(v["x3"], P["x"], P["z"])
        F.sum(v["y3"], Q["x"], Q["z"])
        F.mul(v["x3"], v["x3"], v["y3"])
        F.sum(v["y3"], v["t0"], v["t2"])
        F.difference(v["y3"], v["x3"], v["y3"])
        F.sum(v["x3"], v["t0"], v["t0"])
        F.sum(v["t0"], v["x3"], v["t0"])
        F.times_3b(v["t2"], v["t2"], scratch)
        F.sum(v["z3"], v["t1"], v["t2"])
        F.difference(v["t1"], v["t1"], v["t2"])
        F.times_3b(v["y3"], v["y3"], scratch)
        F.products(v["X"], v["t3"], v["t1"], "-", v["t4"], v["y3"], scratch)
        F.products(v["Y"], v["t1"], v["z3"], "+", v["y3"], v["t0"], scratch)
        F.products(v["Z"], v["z3"], v["t4"], "+", v["t0"], v["t3"], scratch)
        return v["X"]
    e("    movq %rdx, %rcx")
    composite(n * 11 + 384, body, ["%rsi", "%rcx"], count=3 * n // 8)


def group_double(F):
    # rdi = out, rsi = p (as in group_add). Doubling, Renes–Costello–Batina 2016 Algorithm 9
    # (a = 0), the steps of the portable formula (`doubled()` of G1, `doubledPortable()` of G2).
    # out may be p.
    n = F.size

    def body(p, base):
        P = {c: p + n * k for k, c in enumerate("xyz")}
        names = ["t0", "z3", "t1", "t2", "y3", "t3", "X", "Y", "Z"]
        v = {name: base + n * k for k, name in enumerate(names)}
        scratch = base + n * len(names)
        F.square(v["t0"], P["y"])
        F.sum(v["z3"], v["t0"], v["t0"])
        F.sum(v["z3"], v["z3"], v["z3"])
        F.sum(v["z3"], v["z3"], v["z3"])               # 8Y²
        F.mul(v["t1"], P["y"], P["z"])
        F.square(v["t2"], P["z"])
        F.times_3b(v["t2"], v["t2"], scratch)           # 3bZ²
        F.sum(v["y3"], v["t0"], v["t2"])
        F.mul(v["Z"], v["t1"], v["z3"])
        F.sum(v["t3"], v["t2"], v["t2"])
        F.sum(v["t3"], v["t3"], v["t2"])                # 9bZ²
        F.difference(v["t0"], v["t0"], v["t3"])
        F.products(v["Y"], v["t2"], v["z3"], "+", v["t0"], v["y3"], scratch)
        F.mul(v["t1"], P["x"], P["y"])
        F.mul(v["X"], v["t0"], v["t1"])
        F.sum(v["X"], v["X"], v["X"])
        return v["X"]
    composite(n * 9 + 384, body, ["%rsi"], count=3 * n // 8)


def fp6_mul():
    # rdi = out, rsi = a, rdx = b: F_p⁶ elements (c0, c1, c2; F_p² each, reduced), 36 limbs. The
    # Karatsuba product of Fp6's portable `*`: six F_p² products kept double-width, sums of factors
    # reduced, six reductions; what is reduced lies within (−6p², 8p²) per component (see `Fp6.*`).
    # out may be a or b.
    def body(a, b, base):
        A, B = [a + 96 * k for k in range(3)], [b + 96 * k for k in range(3)]
        W = {name: base + 192 * k for k, name in enumerate(["t0", "t1", "t2", "u"])}   # c0, then c1 at +96
        sa, sb, result = base + 768, base + 864, base + 960

        def plus_xi_times(out, x):
            # out += ξ·x for double-width F_p² values: (x0 − x1) + (x0 + x1)·u, through sa and sb.
            subtract_block(at(sa), at(x), at(x + 96), 12)
            add_block(at(sb), at(x), at(x + 96), 12)
            add_block(at(out), at(out), at(sa), 12)
            add_block(at(out + 96), at(out + 96), at(sb), 12)

        def reduce_into(out, w):
            signed_reduce(out, w)
            signed_reduce(out + 48, w + 96)

        for k, name in enumerate(["t0", "t1", "t2"]):
            call("twin_fp2_product_mulx", W[name], A[k], B[k])
        u = W["u"]
        # c0 = ξ·((a1 + a2)(b1 + b2) − t1 − t2) + t0: the bracket into u, then u ← t0 + ξ·u.
        fp2_sum(sa, A[1], A[2]); fp2_sum(sb, B[1], B[2])
        call("twin_fp2_product_mulx", u, sa, sb)
        wide2(subtract_block, u, u, W["t1"])
        wide2(subtract_block, u, u, W["t2"])
        subtract_block(at(sa), at(u), at(u + 96), 12)
        add_block(at(u + 96), at(u), at(u + 96), 12)
        add_block(at(u), at(sa), at(W["t0"]), 12)
        add_block(at(u + 96), at(u + 96), at(W["t0"] + 96), 12)
        reduce_into(result, u)
        # c1 = (a0 + a1)(b0 + b1) − t0 − t1 + ξ·t2
        fp2_sum(sa, A[0], A[1]); fp2_sum(sb, B[0], B[1])
        call("twin_fp2_product_mulx", u, sa, sb)
        wide2(subtract_block, u, u, W["t0"])
        wide2(subtract_block, u, u, W["t1"])
        plus_xi_times(u, W["t2"])
        reduce_into(result + 96, u)
        # c2 = (a0 + a2)(b0 + b2) − t0 − t2 + t1
        fp2_sum(sa, A[0], A[2]); fp2_sum(sb, B[0], B[2])
        call("twin_fp2_product_mulx", u, sa, sb)
        wide2(subtract_block, u, u, W["t0"])
        wide2(subtract_block, u, u, W["t2"])
        wide2(add_block, u, u, W["t1"])
        reduce_into(result + 192, u)
        return result
    e("    movq %rdx, %rcx")
    composite(960 + 288, body, ["%rsi", "%rcx"])


def fp6_sum(out, a, b):
    for k in (0, 96, 192):
        fp2_sum(out + k, a + k, b + k)


def fp6_difference(out, a, b):
    for k in (0, 96, 192):
        fp2_difference(out + k, a + k, b + k)


def fp2_times_xi(out, a, scratch):
    """out = ξ·a = (a0 − a1) + (a0 + a1)·u, through 48 bytes of scratch; out may be a."""
    modular_difference_block(at(scratch), at(a), at(a + 48))
    modular_sum_block(at(out + 48), at(a), at(a + 48))
    copy_limbs(at(out), at(scratch), 6)


def fp6_mul_by_1(out, c, b1, scratch):
    """out = c·(b1·v) = (ξ·c2·b1, c0·b1, c1·b1), as `Fp6.mulBy1`; out must not overlap c."""
    call("twin_fp2_mul_mulx", out + 96, c, b1)
    call("twin_fp2_mul_mulx", out + 192, c + 96, b1)
    call("twin_fp2_mul_mulx", out, c + 192, b1)
    fp2_times_xi(out, out, scratch)


def fp6_mul_by_01(out, c, b0, b1, scratch):
    """out = c·(b0 + b1·v), as `Fp6.mulBy01`: five F_p² products kept double-width, six reductions
    (768 bytes of scratch); out must not overlap c."""
    t0, t1, u, sa, sb = scratch, scratch + 192, scratch + 384, scratch + 576, scratch + 672

    call("twin_fp2_product_mulx", t0, c, b0)
    call("twin_fp2_product_mulx", t1, c + 96, b1)
    # r0 = ξ·((c1 + c2)·b1 − t1) + t0
    fp2_sum(sa, c + 96, c + 192)
    call("twin_fp2_product_mulx", u, sa, b1)
    wide2(subtract_block, u, u, t1)
    subtract_block(at(sa), at(u), at(u + 96), 12)
    add_block(at(u + 96), at(u), at(u + 96), 12)
    add_block(at(u), at(sa), at(t0), 12)
    add_block(at(u + 96), at(u + 96), at(t0 + 96), 12)
    signed_reduce(out, u)
    signed_reduce(out + 48, u + 96)
    # r1 = (c0 + c1)(b0 + b1) − t0 − t1
    fp2_sum(sa, c, c + 96)
    fp2_sum(sb, b0, b1)
    call("twin_fp2_product_mulx", u, sa, sb)
    wide2(subtract_block, u, u, t0)
    wide2(subtract_block, u, u, t1)
    signed_reduce(out + 96, u)
    signed_reduce(out + 144, u + 96)
    # r2 = (c0 + c2)·b0 − t0 + t1
    fp2_sum(sa, c, c + 192)
    call("twin_fp2_product_mulx", u, sa, b0)
    wide2(subtract_block, u, u, t0)
    wide2(add_block, u, u, t1)
    signed_reduce(out + 192, u)
    signed_reduce(out + 240, u + 96)


def sparse_line_result(result, t0, t1, s, scratch):
    """result = (v·t1 + t0, s − t0 − t1) for F_p⁶ values: the close of both sparse line products."""
    fp2_times_xi(scratch, t1 + 192, scratch + 96)
    fp2_sum(result, scratch, t0)
    fp2_sum(result + 96, t1, t0 + 96)
    fp2_sum(result + 192, t1 + 96, t0 + 192)
    fp6_difference(result + 288, s, t0)
    fp6_difference(result + 288, result + 288, t1)


def fp12_mul_by_014():
    # rdi = out[72], rsi = f[72], rdx = (ℓ0, ℓ1, ℓ4)[36]: f·(ℓ0 + ℓ1·v + ℓ4·v·w), as
    # `Fp12.mulBy014Portable`; out may be f.
    def body(f, l, base):
        t0, t1, total, l14, s = (base + 288 * k for k in range(5))
        scratch = base + 288 * 5
        result = scratch + 768
        fp6_mul_by_01(t0, f, l, l + 96, scratch)
        fp6_mul_by_1(t1, f + 288, l + 192, scratch)
        fp6_sum(total, f, f + 288)
        fp2_sum(l14, l + 96, l + 192)
        fp6_mul_by_01(s, total, l, l14, scratch)
        sparse_line_result(result, t0, t1, s, scratch)
        return result
    e("    movq %rdx, %rcx")
    composite(288 * 5 + 768 + 576, body, [("%rsi", 72), ("%rcx", 36)], count=72)


def fp12_mul_by_1_14():
    # rdi = out[72], rsi = f[72], rdx = (ℓ1, ℓ4)[24]: f·(1 + ℓ1·v + ℓ4·v·w), as
    # `Fp12.mulBy1_14Portable`; out may be f.
    def body(f, l, base):
        t0, t1, total, m, s = (base + 288 * k for k in range(5))
        scratch = base + 288 * 5
        l14, result = scratch + 288, scratch + 768
        fp6_mul_by_1(m, f, l, scratch)
        fp6_sum(t0, f, m)                                  # c0·(1 + ℓ1·v)
        fp6_mul_by_1(t1, f + 288, l + 96, scratch)         # c1·(ℓ4·v)
        fp6_sum(total, f, f + 288)
        fp2_sum(l14, l, l + 96)
        fp6_mul_by_1(m, total, l14, scratch)
        fp6_sum(s, total, m)                               # (c0 + c1)·(1 + (ℓ1 + ℓ4)·v)
        sparse_line_result(result, t0, t1, s, scratch)
        return result
    e("    movq %rdx, %rcx")
    composite(288 * 5 + 768 + 576, body, [("%rsi", 72), ("%rcx", 24)], count=72)


e("// Generated by tools/generate_fp_mulx.py; edit the script, not this file.")
e("// BLS12-381 F_p kernels using mulx/adcx/adox (BMI2 + ADX); callers check CPUID first.")
e("#if defined(__x86_64__) && defined(__linux__)")
e("    .section .rodata")
e("    .p2align 6")
e(".Ltwin_p:")
for w in P:
    e(f"    .quad {w:#018x}")
e("    .text")
function("twin_fp_mul_mulx", mul)
function("twin_fp_product_mulx", product)
function("twin_fp_reduce_mulx", reduce)
function("twin_fp2_product_mulx", fp2_product)
function("twin_fp2_mul_mulx", fp2_mul)
function("twin_fp2_square_product_mulx", fp2_square_product)
function("twin_fp2_square_mulx", fp2_square)
function("twin_fp4_square_mulx", fp4_square)
function("twin_fp12_cyclotomic_square_mulx", cyclotomic_square)
function("twin_fp6_mul_mulx", fp6_mul)
function("twin_g1_add_mulx", lambda: group_add(G1Field))
function("twin_g1_double_mulx", lambda: group_double(G1Field))
function("twin_g2_add_mulx", lambda: group_add(G2Field))
function("twin_g2_double_mulx", lambda: group_double(G2Field))
function("twin_fp12_mul_by_014_mulx", fp12_mul_by_014)
function("twin_fp12_mul_by_1_14_mulx", fp12_mul_by_1_14)
e("    .section .note.GNU-stack,\"\",@progbits")
e("#endif")

path = pathlib.Path(__file__).resolve().parent.parent / "Sources/CFpKernel/FpKernel.S"
path.write_text("\n".join(out) + "\n")
print(f"wrote {path}")
