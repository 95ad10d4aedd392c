import Crypto

/// Errors of RFC 9380 expand_message_xmd.
public enum HashToCurveError: Error, Sendable, Equatable {
    /// len_in_bytes > 65535 or ell > 255.
    case outputTooLong
}

/// RFC 9380 §5.3.1 expand_message_xmd with SHA-256 (b_in_bytes = 32, s_in_bytes = 64). A DST longer
/// than 255 bytes is replaced by SHA-256("H2C-OVERSIZE-DST-" ‖ DST) as §5.3.3 requires.
public func expandMessageXMD(_ message: [UInt8], dst: [UInt8], outputLength: Int) throws(HashToCurveError) -> [UInt8] {
    let ell = (outputLength + 31) / 32
    guard ell <= 255, outputLength <= 65535, outputLength >= 0 else { throw .outputTooLong }
    var dstBytes = dst
    if dstBytes.count > 255 {
        var h = SHA256()
        h.update(data: Array("H2C-OVERSIZE-DST-".utf8))
        h.update(data: dstBytes)
        dstBytes = Array(h.finalize())
    }
    let dstPrime = dstBytes + [UInt8(dstBytes.count)]
    var h0 = SHA256()
    h0.update(data: [UInt8](repeating: 0, count: 64))
    h0.update(data: message)
    h0.update(data: [UInt8(outputLength >> 8), UInt8(outputLength & 0xff), 0])
    h0.update(data: dstPrime)
    let b0 = Array(h0.finalize())
    var out = [UInt8]()
    out.reserveCapacity(ell * 32)
    var prev = [UInt8](repeating: 0, count: 32)
    for i in 1...max(ell, 1) where ell > 0 {
        var h = SHA256()
        var input = [UInt8](repeating: 0, count: 32)
        for j in 0..<32 { input[j] = b0[j] ^ prev[j] }
        if i == 1 { input = b0 }
        h.update(data: input)
        h.update(data: [UInt8(i)])
        h.update(data: dstPrime)
        prev = Array(h.finalize())
        out += prev
    }
    return Array(out.prefix(outputLength))
}
