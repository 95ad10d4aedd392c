// Word-level helpers shared by the Montgomery fields. Everything here is branch-free and inlined.

@inline(__always) @usableFromInline
func madd1(_ a: UInt64, _ b: UInt64, _ c: UInt64) -> (UInt64, UInt64) {
    let (hi, lo) = a.multipliedFullWidth(by: b)
    let (s, o) = lo.addingReportingOverflow(c)
    return (hi &+ (o ? 1 : 0), s)
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
    let (hi, lo) = a.multipliedFullWidth(by: b)
    let (s1, o1) = lo.addingReportingOverflow(c)
    let (s2, o2) = s1.addingReportingOverflow(d)
    return (hi &+ (o1 ? 1 : 0) &+ (o2 ? 1 : 0), s2)
}

/// a + b + carry -> (sum, carry out)
@inline(__always) @usableFromInline
func adc(_ a: UInt64, _ b: UInt64, _ carry: UInt64) -> (UInt64, UInt64) {
    let (s1, o1) = a.addingReportingOverflow(b)
    let (s2, o2) = s1.addingReportingOverflow(carry)
    return (s2, (o1 ? 1 : 0) &+ (o2 ? 1 : 0))
}

/// a - b - borrow -> (difference, borrow out in {0,1})
@inline(__always) @usableFromInline
func sbb(_ a: UInt64, _ b: UInt64, _ borrow: UInt64) -> (UInt64, UInt64) {
    let (d1, o1) = a.subtractingReportingOverflow(b)
    let (d2, o2) = d1.subtractingReportingOverflow(borrow)
    return (d2, (o1 ? 1 : 0) | (o2 ? 1 : 0))
}

/// All-ones when `bit` is 1, zero when 0, without branching.
@inline(__always) @usableFromInline
func maskFromBit(_ bit: UInt64) -> UInt64 { 0 &- bit }

/// 1 if `x == 0` else 0, computed without branches.
@inline(__always) @usableFromInline
func isZeroWord(_ x: UInt64) -> UInt64 { ((x | (0 &- x)) >> 63) ^ 1 }
