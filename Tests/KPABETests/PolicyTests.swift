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
