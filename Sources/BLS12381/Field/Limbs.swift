// Word-level helpers shared by the Montgomery fields. Everything here is branch-free and inlined.
// 128-bit intermediates let LLVM emit plain mul/add/adc chains.

@inline(__always) @usableFromInline
func madd1(_ a: UInt64, _ b: UInt64, _ c: UInt64) -> (UInt64, UInt64) {
    let t = UInt128(a) &* UInt128(b) &+ UInt128(c)
    return (UInt64(truncatingIfNeeded: t >> 64), UInt64(truncatingIfNeeded: t))
}

@inline(__always) @usableFromInline
func madd2(_ a: UInt64, _ b: UInt64, _ c: UInt64) -> (UInt64, UInt64) {
    madd1(a, b, c)
}

@inline(__always) @usableFromInline
func madd2Hi(_ a: UInt64, _ b: UInt64, _ c: UInt64) -> UInt64 {
    madd1(a, b, c).0
}

@inline(__always) @usableFromInline
func madd3(_ a: UInt64, _ b: UInt64, _ c: UInt64, _ d: UInt64) -> (UInt64, UInt64) {
    let t = UInt128(a) &* UInt128(b) &+ UInt128(c) &+ UInt128(d)
    return (UInt64(truncatingIfNeeded: t >> 64), UInt64(truncatingIfNeeded: t))
}

/// a + b + carry -> (sum, carry out)
@inline(__always) @usableFromInline
func adc(_ a: UInt64, _ b: UInt64, _ carry: UInt64) -> (UInt64, UInt64) {
    let t = UInt128(a) &+ UInt128(b) &+ UInt128(carry)
    return (UInt64(truncatingIfNeeded: t), UInt64(truncatingIfNeeded: t >> 64))
}

/// a - b - borrow -> (difference, borrow out in {0,1})
@inline(__always) @usableFromInline
func sbb(_ a: UInt64, _ b: UInt64, _ borrow: UInt64) -> (UInt64, UInt64) {
    let t = UInt128(a) &- UInt128(b) &- UInt128(borrow)
    return (UInt64(truncatingIfNeeded: t), UInt64(truncatingIfNeeded: t >> 127))
}

/// All-ones when `bit` is 1, zero when 0, without branching.
@inline(__always) @usableFromInline
func maskFromBit(_ bit: UInt64) -> UInt64 { 0 &- bit }

/// 1 if `x == 0` else 0, computed without branches.
@inline(__always) @usableFromInline
func isZeroWord(_ x: UInt64) -> UInt64 { ((x | (0 &- x)) >> 63) ^ 1 }
