import Foundation
import KPABE
import Testing

@Suite("Policy language")
struct PolicyTests {
    @Test("parsing, precedence and flattening", arguments: [
        ("family", Policy.attribute("family")),
        ("family or (friend and vacation)", .or([.attribute("family"), .and([.attribute("friend"), .attribute("vacation")])])),
        ("a or b and c", .or([.attribute("a"), .and([.attribute("b"), .attribute("c")])])),
        ("a and b or c", .or([.and([.attribute("a"), .attribute("b")]), .attribute("c")])),
        ("a and b and c", .and([.attribute("a"), .attribute("b"), .attribute("c")])),
        ("2 of (alice, bob, carol)", .threshold(2, [.attribute("alice"), .attribute("bob"), .attribute("carol")])),
        ("friend or 2 of (a, b and c, (d or e))", .or([.attribute("friend"), .threshold(2, [.attribute("a"), .and([.attribute("b"), .attribute("c")]), .or([.attribute("d"), .attribute("e")])])])),
        ("\"Paris 2026\" AND 2026", .and([.attribute("Paris 2026"), .attribute("2026")])),
        ("\"and\" Or \"say \\\"hi\\\"\"", .or([.attribute("and"), .attribute("say \"hi\"")])),
        ("Ünïcødé and 家族", .and([.attribute("Ünïcødé"), .attribute("家族")])),
        ("  ( ( x ) )  ", .attribute("x")),
    ])
    func parses(text: String, expected: Policy) throws {
        #expect(try PolicyParser.parse(text) == expected)
        // The canonical text parses back to the same tree.
        #expect(try PolicyParser.parse(expected.description) == expected)
    }

    @Test("syntax errors name the offending position", arguments: [
        ("", 0), ("a and", 5), ("(a or b", 7), ("a b", 2), ("a or or b", 5), ("3 of (a, b)", 0),
        ("0 of (a)", 0), ("\"unterminated", 0), ("a and )", 6), ("2 of a", 5), ("of", 0), ("\"\"", 0),
        ("a, b", 1),
    ])
    func syntaxErrors(text: String, position: Int) {
        #expect {
            _ = try PolicyParser.parse(text)
        } throws: { error in
            guard case PolicyError.syntax(let found, _) = error else { return false }
            return found == position
        }
    }

    @Test("structural limits")
    func limits() {
        let deep = String(repeating: "(a and ", count: 40) + "b" + String(repeating: ")", count: 40)
        #expect(throws: PolicyError.tooDeep) { try PolicyParser.parse(deep) }
        let long = String(repeating: "x", count: 256)
        #expect(throws: PolicyError.invalidAttribute(long)) { try PolicyParser.parse(long) }
    }

    /// The policy that crashed `twin serve` by overflowing its stack (issue 19): limits are enforced
    /// while parsing, so the parser never recurses past `Policy.maximumDepth`.
    @Test("hostile policies are refused while they are read")
    func hostilePolicies() {
        let nested = String(repeating: "(", count: 30_000) + "a" + String(repeating: ")", count: 30_000)
        #expect(throws: PolicyError.tooDeep) { try PolicyParser.parse(nested) }
        let thresholds = String(repeating: "1 of (", count: 5_000) + "a" + String(repeating: ")", count: 5_000)
        #expect(throws: PolicyError.tooDeep) { try PolicyParser.parse(thresholds) }
        // Past the length bound nothing is parsed at all.
        let huge = String(repeating: "(", count: 200_000) + "a" + String(repeating: ")", count: 200_000)
        #expect(throws: PolicyError.tooLong) { try PolicyParser.parse(huge) }
        // Leaves are counted as they are read: five gates of 1000 one-letter leaves fit the length bound.
        let group = "(" + Array(repeating: "a", count: 1000).joined(separator: " or ") + ")"
        let wide = Array(repeating: group, count: 5).joined(separator: " or ")
        #expect(throws: PolicyError.tooManyLeaves) { try PolicyParser.parse(wide) }
        // One gate has at most `maximumChildren` children.
        let flat = (0...Policy.maximumChildren).map { "a\($0)" }.joined(separator: " and ")
        #expect { try PolicyParser.parse(flat) } throws: { error in
            if case PolicyError.syntax = error { return true } else { return false }
        }
        // The limits themselves are reachable.
        let deepest = String(repeating: "(a and ", count: Policy.maximumDepth - 1) + "b"
            + String(repeating: ")", count: Policy.maximumDepth - 1)
        #expect((try? PolicyParser.parse(deepest)) != nil)
        let widest = (0..<Policy.maximumChildren).map { "a\($0)" }.joined(separator: " or ")
        #expect((try? PolicyParser.parse(widest))?.leaves.count == Policy.maximumChildren)
    }

    /// Found by the policy fuzzer: a quoted attribute holding a backslash followed by a combining
    /// mark (one Character in Swift) was printed unescaped, and its canonical text did not parse.
    @Test("canonical text escapes scalar by scalar: a backslash before a combining mark")
    func combiningMarkAfterBackslash() throws {
        let name = "c \\\u{616} d"
        let policy = Policy.attribute(name)
        #expect(try PolicyParser.parse(policy.description) == policy)
        let found = try #require(Data(base64Encoded: "MSBvciAiYWEgYW9uZPIgKClvcv//////IChjYW5kIChkemBhIGFuZCAoKGIgb3IgKGMgXFxcXFxc2JZcXFxcXFxcXFxcKCkpYiAi"))
        if let parsed = try? PolicyParser.parse(String(decoding: found, as: UTF8.self)) {
            #expect(try PolicyParser.parse(parsed.description) == parsed)
        }
    }

    @Test("the plain evaluator")
    func evaluator() throws {
        let policy = try PolicyParser.parse("family or (friend and vacation) or 2 of (alice, bob, carol)")
        #expect(policy.isSatisfied(by: ["family"]))
        #expect(policy.isSatisfied(by: ["friend", "vacation"]))
        #expect(!policy.isSatisfied(by: ["friend"]))
        #expect(policy.isSatisfied(by: ["bob", "carol"]))
        #expect(!policy.isSatisfied(by: ["bob", "Family"]))
    }
}
