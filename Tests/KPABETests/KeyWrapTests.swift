import BinaryCoding
import KPABE
import Testing

@Suite("KP-ABE key wrapping")
struct KeyWrapTests {
    static let fileKeys: [[UInt8]] = (0..<3).map { [UInt8](repeating: UInt8($0 + 1), count: 32) }
    static let contexts: [[UInt8]] = (0..<3).map { Array("file tag \($0)".utf8) }

    @Test("keys wrapped under one capsule open with a satisfying key and their own context only")
    func roundTrip() throws {
        let wrapper = try AttributeKeyWrapper(attributes: ["friend", "vacation"], parameters: authority.0)
        let wrapped = zip(Self.fileKeys, Self.contexts).map { wrapper.wrap($0, context: $1) }
        #expect(Set(wrapped.map { $0.encoded() }).count == 3, "each key sealed under its own nonce")
        #expect(wrapped.allSatisfy { $0.capsule == wrapper.capsule && $0.attributes == ["friend", "vacation"] })

        let friend = try KPABE.keyGen(authority.1, policy: try PolicyParser.parse("family or (friend and vacation)"))
        for (index, item) in wrapped.enumerated() {
            let decoded = try WrappedKey(decoding: item.encoded())
            #expect(decoded == item)
            #expect(try decoded.unwrap(with: friend, context: Self.contexts[index]) == Self.fileKeys[index])
            // Moved to another file's context: refused.
            #expect(throws: KPABEError.decryptionFailed) {
                try decoded.unwrap(with: friend, context: Self.contexts[(index + 1) % 3])
            }
        }
        let family = try KPABE.keyGen(authority.1, policy: .attribute("family"))
        #expect(throws: KPABEError.policyNotSatisfied) { try wrapped[0].unwrap(with: family, context: Self.contexts[0]) }
        let stranger = try KPABE.keyGen(KPABE.setup().1, policy: .attribute("friend"))
        #expect(throws: KPABEError.wrongAuthority) { try wrapped[0].unwrap(with: stranger, context: Self.contexts[0]) }
    }

    @Test("two wrappers make independent capsules")
    func freshCapsules() throws {
        let first = try AttributeKeyWrapper(attributes: ["a"], parameters: authority.0)
        let second = try AttributeKeyWrapper(attributes: ["a"], parameters: authority.0)
        #expect(first.capsule != second.capsule)
        #expect(throws: KPABEError.noAttributes) { try AttributeKeyWrapper(attributes: [String](), parameters: authority.0) }
    }

    @Test("bit flips throughout (every fifth bit) are refused; truncation, trailing bytes and a bad version too")
    func tampering() throws {
        let key = try KPABE.keyGen(authority.1, policy: .attribute("a"))
        let bytes = try AttributeKeyWrapper(attributes: ["a"], parameters: authority.0)
            .wrap(Self.fileKeys[0], context: Self.contexts[0]).encoded()
        for bit in stride(from: 0, to: bytes.count * 8, by: 5) {
            var tampered = bytes
            tampered[bit / 8] ^= 1 << UInt8(bit % 8)
            #expect(throws: (any Error).self) {
                _ = try WrappedKey(decoding: tampered).unwrap(with: key, context: Self.contexts[0])
            }
        }
        for length in stride(from: 0, to: bytes.count, by: 11) {
            #expect(throws: (any Error).self) { try WrappedKey(decoding: Array(bytes.prefix(length))) }
        }
        #expect(throws: BinaryDecodingError.self) { try WrappedKey(decoding: bytes + [0]) }
        var version = bytes
        version[4] = 2
        #expect(throws: BinaryDecodingError.unsupportedVersion(2)) { try WrappedKey(decoding: version) }
    }

    @Test("the capsule cache keeps only what its caller accepted, by exact bytes, within its bound")
    func capsuleCache() throws {
        let cache = CapsuleCache(capacityBytes: 2_000)
        let wrapper = try AttributeKeyWrapper(attributes: ["a", "b"], parameters: authority.0)
        let first = try WrappedKey(decoding: wrapper.wrap(Self.fileKeys[0], context: Self.contexts[0]).encoded(), capsules: cache)
        #expect(cache.count == 0, "decoding alone remembers nothing")
        cache.remember(first)
        cache.remember(first)
        #expect(cache.count == 1)
        for (key, context) in zip(Self.fileKeys, Self.contexts) {
            let bytes = wrapper.wrap(key, context: context).encoded()
            #expect(try WrappedKey(decoding: bytes, capsules: cache) == WrappedKey(decoding: bytes))
        }
        // C0 made off-curve. After it come the capsule's u32 length and sealed wrapping key (32 + 16),
        // then the nonce (12), a u32 length and the sealed file key (32 + 16). Other bytes than the
        // remembered capsule's: validated, and refused.
        var bad = wrapper.wrap(Self.fileKeys[0], context: Self.contexts[0]).encoded()
        let c0Start = bad.count - (4 + 48 + 12 + 4 + 48) - 96
        bad.replaceSubrange(c0Start..<c0Start + 96, with: [0xA0] + [UInt8](repeating: 0, count: 95))
        #expect(throws: KPABEError.invalidGroupElement(field: "C0")) { try WrappedKey(decoding: bad, capsules: cache) }
        // Full: starts over rather than grow.
        for _ in 0..<10 {
            let other = try AttributeKeyWrapper(attributes: ["a", "b"], parameters: authority.0)
            cache.remember(try WrappedKey(decoding: other.wrap(Self.fileKeys[0], context: Self.contexts[0]).encoded()))
        }
        #expect(cache.count >= 1 && cache.count < 10)
    }

    @Test("a wrapped key moved under another capsule does not open")
    func boundToCapsule() throws {
        let key = try KPABE.keyGen(authority.1, policy: .attribute("a"))
        let first = try AttributeKeyWrapper(attributes: ["a"], parameters: authority.0)
        let second = try AttributeKeyWrapper(attributes: ["a"], parameters: authority.0)
        let original = first.wrap(Self.fileKeys[0], context: Self.contexts[0]).encoded()
        let donor = second.wrap(Self.fileKeys[1], context: Self.contexts[0]).encoded()
        // Header (4 + 1) and the capsule (u32 length + bytes) of `donor`, the rest of `original`.
        let capsuleEnd = 5 + 4 + Int(UInt32(bigEndian: donor[5..<9].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }))
        let spliced = Array(donor[..<capsuleEnd]) + Array(original[capsuleEnd...])
        #expect(throws: KPABEError.decryptionFailed) {
            try WrappedKey(decoding: spliced).unwrap(with: key, context: Self.contexts[0])
        }
    }
}
