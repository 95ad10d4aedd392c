#include <stdlib.h>
#include <string.h>
#include "FpKernel.h"

#if defined(__x86_64__) && defined(__linux__)
#include <cpuid.h>

static int cpu_has_mulx(void) {
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return 0;
    const unsigned bmi2 = 1u << 8, adx = 1u << 19;
    return (ebx & bmi2) && (ebx & adx);
}
#else
static int cpu_has_mulx(void) { return 0; }
void twin_fp_mul_mulx(void *out, const void *a, const void *b) { (void)out; (void)a; (void)b; abort(); }
void twin_fp_product_mulx(void *out, const void *a, const void *b) { (void)out; (void)a; (void)b; abort(); }
void twin_fp_reduce_mulx(void *out, const void *t) { (void)out; (void)t; abort(); }
void twin_fp2_product_mulx(void *out, const void *a, const void *b) { (void)out; (void)a; (void)b; abort(); }
void twin_fp2_mul_mulx(void *out, const void *a, const void *b) { (void)out; (void)a; (void)b; abort(); }
void twin_fp2_square_product_mulx(void *out, const void *a) { (void)out; (void)a; abort(); }
void twin_fp2_square_mulx(void *out, const void *a) { (void)out; (void)a; abort(); }
void twin_fp4_square_mulx(void *out, const void *a, const void *b) { (void)out; (void)a; (void)b; abort(); }
void twin_fp12_cyclotomic_square_mulx(void *out, const void *a) { (void)out; (void)a; abort(); }
void twin_fp6_mul_mulx(void *out, const void *a, const void *b) { (void)out; (void)a; (void)b; abort(); }
void twin_g1_add_mulx(void *out, const void *p, const void *q) { (void)out; (void)p; (void)q; abort(); }
void twin_g1_double_mulx(void *out, const void *p) { (void)out; (void)p; abort(); }
void twin_g2_add_mulx(void *out, const void *p, const void *q) { (void)out; (void)p; (void)q; abort(); }
void twin_g2_double_mulx(void *out, const void *p) { (void)out; (void)p; abort(); }
void twin_fp12_mul_by_014_mulx(void *out, const void *f, const void *l) { (void)out; (void)f; (void)l; abort(); }
void twin_fp12_mul_by_1_14_mulx(void *out, const void *f, const void *l) { (void)out; (void)f; (void)l; abort(); }
#endif

int twin_fp_mulx_enabled = 0;

int twin_fp_cpu_has_mulx(void) { return cpu_has_mulx(); }

int twin_fp_kernel_select_mulx(int enabled) {
    twin_fp_mulx_enabled = enabled && cpu_has_mulx();
    return twin_fp_mulx_enabled;
}

// Decided before main: the Swift code reads the flag on every field product, so it must not change
// while arithmetic runs (only tests and benchmarks switch it, between computations).
__attribute__((constructor)) static void twin_fp_kernel_detect(void) {
    const char *choice = getenv("TWIN_FP_KERNEL");
    twin_fp_kernel_select_mulx(!(choice && strcmp(choice, "portable") == 0));
}
