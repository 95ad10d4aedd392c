#!/usr/bin/env python3
"""Writes Sources/CFpKernel/FpKernel.S: BLS12-381 F_p kernels for x86-64 CPUs with BMI2 and ADX
(mulx, adcx, adox), which the Swift field code selects at run time (Sources/CFpKernel/FpKernel.c
checks CPUID). mulx multiplies without touching the flags, and adcx / adox carry along two
independent chains (CF and OF), so a row of products and its additions into the accumulator run
as two interleaved carry chains; LLVM emits neither instruction for the portable Swift code.

Three functions, System V ABI, all straight-line and branch-free (constant time):
  twin_fp_mul(out[6], a[6], b[6])     Montgomery product a·b·2^-384 mod p, fully reduced (a, b < p)
  twin_fp_product(out[12], a[6], b[6]) the 12-limb product a·b (any 6-limb a, b)
  twin_fp_reduce(out[6], t[12])       Montgomery reduction t·2^-384 mod p, fully reduced (t < p·2^384)

Run it again after changing the shape of the code below; the Swift tests compare every function
with the portable path on random and edge inputs."""
import pathlib

P = [0xb9feffffffffaaab, 0x1eabfffeb153ffff, 0x6730d2a0f6b0f624,
     0x64774b84f38512bf, 0x4b1ba7b6434bacd7, 0x1a0111ea397fe69a]
INV = 0x89f3fffcfffcfffd  # -p^-1 mod 2^64
SAVED = ["%rbx", "%rbp", "%r12", "%r13", "%r14"]
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


def multiply_row(t, a, b_index, b_pointer):
    """t (7 registers, t[6] = 0 on entry) += a·b[b_index]; a and b are pointers."""
    e(f"    movq {8 * b_index}({b_pointer}), %rdx")
    e(f"    xorl %ebp, %ebp")
    for j in range(6):
        e(f"    mulxq {8 * j}({a}), {LO}, {HI}")
        e(f"    adcxq {LO}, {t[j]}")
        e(f"    adoxq {HI}, {t[j + 1]}")
    e(f"    adcxq {ZERO}, {t[6]}")


def first_row(t, a, b_pointer):
    """t = a·b[0] (t[0..6])."""
    e(f"    movq 0({b_pointer}), %rdx")
    e(f"    xorl %ebp, %ebp")
    e(f"    mulxq 0({a}), {t[0]}, {t[1]}")
    for j in range(1, 6):
        e(f"    mulxq {8 * j}({a}), {LO}, {t[j + 1]}")
        e(f"    adcxq {LO}, {t[j]}")
    e(f"    adcxq {ZERO}, {t[6]}")


def subtract_modulus_and_store(t, scratch):
    """Stores t − p when t ≥ p, else t (t < 2p), through masks of the borrow (cmov, no branch)."""
    for j in range(6):
        e(f"    movq {t[j]}, {scratch[j]}")
        e(f"    {'subq' if j == 0 else 'sbbq'} {modulus(j)}, {scratch[j]}")
    for j in range(6):
        e(f"    cmovcq {t[j]}, {scratch[j]}")  # borrow: t < p, keep t
    for j in range(6):
        e(f"    movq {scratch[j]}, {8 * j}(%rdi)")


def mul():
    # rdi = out, rsi = a, rdx = b (moved to rcx: mulx reads rdx)
    e("    movq %rdx, %rcx")
    t = ["%r8", "%r9", "%r10", "%r11", "%r12", "%r13", "%r14"]
    first_row(t, "%rsi", "%rcx")
    t = reduction_round(t)
    for i in range(1, 6):
        multiply_row(t, "%rsi", i, "%rcx")
        t = reduction_round(t)
    # t[0..5] < 2p; t[6] is the zeroed register. Scratch: rax, rbx, rbp, rdx, rsi, rcx.
    subtract_modulus_and_store(t, ["%rax", "%rbx", "%rbp", "%rdx", "%rsi", "%rcx"])


def product():
    # rdi = out[12], rsi = a, rdx = b (moved to rcx)
    e("    movq %rdx, %rcx")
    t = ["%r8", "%r9", "%r10", "%r11", "%r12", "%r13", "%r14"]
    first_row(t, "%rsi", "%rcx")
    e(f"    movq {t[0]}, 0(%rdi)")
    t = t[1:] + t[:1]
    for i in range(1, 6):
        e(f"    xorl {t[6]}d, {t[6]}d" if t[6].startswith("%r") and t[6][2:].isdigit() else f"    xorq {t[6]}, {t[6]}")
        multiply_row(t, "%rsi", i, "%rcx")
        e(f"    movq {t[0]}, {8 * i}(%rdi)")
        t = t[1:] + t[:1]
    for j in range(6):
        e(f"    movq {t[j]}, {8 * (6 + j)}(%rdi)")


def reduce():
    # rdi = out[6], rsi = t[12]. REDC of the low half, then the high half added:
    # (t_lo + m·p)/2^384 ≤ p and t_hi < p, so the sum is below 2p and one subtraction finishes.
    t = ["%r8", "%r9", "%r10", "%r11", "%r12", "%r13", "%r14"]
    for j in range(6):
        e(f"    movq {8 * j}(%rsi), {t[j]}")
    e(f"    xorl {t[6]}d, {t[6]}d")
    for _ in range(6):
        t = reduction_round(t)
    for j in range(6):
        e(f"    {'addq' if j == 0 else 'adcq'} {8 * (6 + j)}(%rsi), {t[j]}")
    subtract_modulus_and_store(t, ["%rax", "%rbx", "%rbp", "%rdx", "%rsi", "%rcx"])


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
e("    .section .note.GNU-stack,\"\",@progbits")
e("#endif")

path = pathlib.Path(__file__).resolve().parent.parent / "Sources/CFpKernel/FpKernel.S"
path.write_text("\n".join(out) + "\n")
print(f"wrote {path}")
