import Crypto

/// HKDF-SHA256 (RFC 5869) built on swift-crypto's SHA-256, for the derivations the pipeline makes per
/// chunk (a key from the content hash, a nonce from the key). It gives exactly the bytes of
/// swift-crypto's `HKDF<SHA256>`, which the tests use as the oracle beside RFC 5869's vectors.
///
/// Why not call the library's HKDF: it is generic and not specialised across the module boundary,
/// and wraps every step in a `SymmetricKey` and `Data`, so its key and nonce derivations cost far
/// more than the ten or so SHA-256 blocks of actual work they do per chunk.
/// This one is HMAC written out over `SHA256` with the pads on the stack.
enum HKDFSHA256 {
    /// `PRK = HMAC-SHA256(salt, ikm)`; an empty salt stands for 32 zero bytes, as RFC 5869 §2.2 says.
    static func extract(salt: UnsafeRawBufferPointer, inputKeyMaterial: UnsafeRawBufferPointer) -> Digest32 {
        if salt.isEmpty {
            return withUnsafeBytes(of: (UInt64(0), UInt64(0), UInt64(0), UInt64(0))) {
                HMACSHA256.code(key: $0, message: inputKeyMaterial)
            }
        }
        return HMACSHA256.code(key: salt, message: inputKeyMaterial)
    }

    /// `OKM`, the first `outputByteCount` bytes of T(1) || T(2) || …, T(i) = HMAC(PRK, T(i−1) || info || i).
    static func expand(pseudoRandomKey: UnsafeRawBufferPointer, info: UnsafeRawBufferPointer,
                       outputByteCount: Int) -> [UInt8] {
        precondition(outputByteCount >= 0 && outputByteCount <= 255 * 32, "RFC 5869 caps OKM at 255 blocks")
        var output: [UInt8] = []
        output.reserveCapacity(outputByteCount)
        var previous: Digest32?
        var counter: UInt8 = 1
        while output.count < outputByteCount {
            var mac = HMACSHA256(key: pseudoRandomKey)
            previous?.withUnsafeBytes { mac.update($0) }
            mac.update(info)
            withUnsafeBytes(of: counter) { mac.update($0) }
            let block = mac.finalize()
            block.withUnsafeBytes { output.append(contentsOf: $0.prefix(outputByteCount - output.count)) }
            previous = block
            counter &+= 1
        }
        return output
    }

    /// Extract then expand with an empty salt: `HKDF<SHA256>.deriveKey(inputKeyMaterial:info:outputByteCount:)`.
    static func deriveKey(inputKeyMaterial: UnsafeRawBufferPointer, info: [UInt8], outputByteCount: Int) -> SymmetricKey {
        let pseudoRandomKey = extract(salt: UnsafeRawBufferPointer(start: nil, count: 0), inputKeyMaterial: inputKeyMaterial)
        var okm = pseudoRandomKey.withUnsafeBytes { prk in
            info.withUnsafeBytes { expand(pseudoRandomKey: prk, info: $0, outputByteCount: outputByteCount) }
        }
        // Zeroed once copied into the key (the PRK and the HMAC pads are stack values we cannot clear).
        defer { okm.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0) } }
        return SymmetricKey(data: okm)
    }
}

/// HMAC-SHA256 (RFC 2104): `H((K ⊕ opad) || H((K ⊕ ipad) || m))`, the key padded to SHA-256's
/// 64-byte block (hashed first when longer).
struct HMACSHA256 {
    private var inner = SHA256()
    /// `K ⊕ opad`, kept until the outer hash runs.
    private var outerPad: SIMD64<UInt8>

    init(key: UnsafeRawBufferPointer) {
        var block = SIMD64<UInt8>(repeating: 0)
        withUnsafeMutableBytes(of: &block) { target in
            if key.count > 64 {
                var hasher = SHA256()
                hasher.update(bufferPointer: key)
                Digest32(hasher.finalize()).withUnsafeBytes { target.copyMemory(from: $0) }
            } else if !key.isEmpty {
                target.copyMemory(from: key)
            }
        }
        outerPad = block ^ SIMD64(repeating: 0x5c)
        let innerPad = block ^ SIMD64(repeating: 0x36)
        withUnsafeBytes(of: innerPad) { inner.update(bufferPointer: $0) }
    }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        inner.update(bufferPointer: bytes)
    }

    consuming func finalize() -> Digest32 {
        let innerDigest = Digest32(inner.finalize())
        var outer = SHA256()
        withUnsafeBytes(of: outerPad) { outer.update(bufferPointer: $0) }
        innerDigest.withUnsafeBytes { outer.update(bufferPointer: $0) }
        return Digest32(outer.finalize())
    }

    static func code(key: UnsafeRawBufferPointer, message: UnsafeRawBufferPointer) -> Digest32 {
        var mac = HMACSHA256(key: key)
        mac.update(message)
        return mac.finalize()
    }
}
