/// Why an encoding of a field, group or GT element was rejected.
public enum BLS12381Error: Error, Sendable, Equatable {
    /// The input has the wrong number of bytes for the requested form.
    case invalidLength
    /// The flag bits are inconsistent with the length or with each other.
    case invalidFlags
    /// A coordinate (or GT coefficient) is not a canonical field element (≥ p).
    case coordinateNotCanonical
    /// No point with that x exists, or (x, y) does not satisfy the curve equation.
    case notOnCurve
    /// The point (or GT element) is not in the prime-order-r subgroup.
    case notInSubgroup
    /// The infinity flag is set but other bits are not zero (only one infinity encoding is accepted).
    case nonCanonicalInfinity
    /// A scalar encoding is ≥ r.
    case scalarNotCanonical
}
