/// Parses policy text:
///
/// ```
/// policy    := or
/// or        := and ("or" and)*
/// and       := primary ("and" primary)*
/// primary   := "(" policy ")" | NUMBER "of" "(" policy ("," policy)* ")" | attribute
/// attribute := a run of characters other than space, parentheses, comma and quote
///            | "…" with \" and \\ escapes
/// ```
/// `and` binds tighter than `or`; keywords are case-insensitive; a keyword used as an attribute must be
/// quoted. Chains flatten: `a and b and c` is one 3-of-3 gate.
///
/// Every limit of `Policy` is enforced while the text is read, never after: the text's length before
/// any parsing, nesting depth at each opening gate, leaves and children as they are added. So no
/// input, however hostile, drives recursion deeper than `Policy.maximumDepth` or allocates more than
/// the limits allow.
public enum PolicyParser {
    public static func parse(_ text: String) throws(PolicyError) -> Policy {
        guard text.utf8.count <= Policy.maximumTextLength else { throw .tooLong }
        var parser = Parser(text)
        let policy = try parser.parseOr()
        parser.skipSpace()
        guard parser.atEnd else { throw parser.error("unexpected \(parser.describeNext())") }
        try policy.validate()
        return policy
    }

    static let keywords: Set<String> = ["and", "or", "of"]

    static func needsQuotes(_ name: String) -> Bool {
        name.isEmpty || keywords.contains(name.lowercased()) || Int(name) != nil
            || name.unicodeScalars.contains { isDelimiter($0) }
    }

    static func isDelimiter(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isWhitespace || "(),\"".unicodeScalars.contains(scalar)
    }

    private struct Parser {
        let scalars: [Unicode.Scalar]
        var index = 0
        /// Gates open around the current position, and leaves read so far.
        var depth = 0
        var leafCount = 0

        init(_ text: String) { scalars = Array(text.unicodeScalars) }

        var atEnd: Bool { index >= scalars.count }

        func error(_ message: String) -> PolicyError { .syntax(position: index, message: message) }

        func describeNext() -> String { atEnd ? "end of policy" : "'\(scalars[index])'" }

        mutating func skipSpace() {
            while !atEnd, scalars[index].properties.isWhitespace { index += 1 }
        }

        /// The next bare word, without consuming it.
        func peekWord() -> String? {
            var end = index
            while end < scalars.count, !PolicyParser.isDelimiter(scalars[end]) { end += 1 }
            guard end > index else { return nil }
            var word = String.UnicodeScalarView()
            word.append(contentsOf: scalars[index..<end])
            return String(word)
        }

        mutating func consumeKeyword(_ keyword: String) -> Bool {
            skipSpace()
            guard let word = peekWord(), word.lowercased() == keyword else { return false }
            index += word.unicodeScalars.count
            return true
        }

        mutating func expect(_ scalar: Unicode.Scalar) throws(PolicyError) {
            skipSpace()
            guard !atEnd, scalars[index] == scalar else { throw error("expected '\(scalar)', found \(describeNext())") }
            index += 1
        }

        /// An `or` chain. Each level of nesting passes through here once, so this is where depth is
        /// counted: a chain with several children is a gate, one level below its parent.
        mutating func parseOr() throws(PolicyError) -> Policy {
            depth += 1
            defer { depth -= 1 }
            guard depth <= Policy.maximumDepth else { throw .tooDeep }
            var children = [try parseAnd()]
            while consumeKeyword("or") { try append(try parseAnd(), to: &children) }
            return children.count == 1 ? children[0] : .or(children)
        }

        mutating func parseAnd() throws(PolicyError) -> Policy {
            var children = [try parsePrimary()]
            while consumeKeyword("and") { try append(try parsePrimary(), to: &children) }
            return children.count == 1 ? children[0] : .and(children)
        }

        func append(_ child: Policy, to children: inout [Policy]) throws(PolicyError) {
            guard children.count < Policy.maximumChildren else {
                throw .syntax(position: index, message: "a gate has more than \(Policy.maximumChildren) children")
            }
            children.append(child)
        }

        mutating func leaf(_ name: String) throws(PolicyError) -> Policy {
            leafCount += 1
            guard leafCount <= Policy.maximumLeaves else { throw .tooManyLeaves }
            return .attribute(name)
        }

        mutating func parsePrimary() throws(PolicyError) -> Policy {
            skipSpace()
            guard !atEnd else { throw error("expected an attribute, '(' or 'K of (…)', found end of policy") }
            let scalar = scalars[index]
            if scalar == "(" {
                index += 1
                let inner = try parseOr()
                try expect(")")
                return inner
            }
            if scalar == "\"" { return try leaf(try parseQuoted()) }
            guard let word = peekWord() else { throw error("unexpected \(describeNext())") }
            if PolicyParser.keywords.contains(word.lowercased()) {
                throw error("'\(word)' is a keyword; quote it to use it as an attribute")
            }
            let start = index
            index += word.unicodeScalars.count
            if let k = Int(word) {
                let afterNumber = index
                if consumeKeyword("of") {
                    return try parseThreshold(k, at: start)
                }
                index = afterNumber
            }
            return try leaf(word)
        }

        mutating func parseThreshold(_ k: Int, at start: Int) throws(PolicyError) -> Policy {
            try expect("(")
            var children = [try parseOr()]
            while true {
                skipSpace()
                if !atEnd, scalars[index] == "," {
                    index += 1
                    try append(try parseOr(), to: &children)
                } else {
                    break
                }
            }
            try expect(")")
            guard k >= 1, k <= children.count else {
                throw PolicyError.syntax(position: start, message: "threshold \(k) of \(children.count) is impossible")
            }
            return .threshold(k, children)
        }

        mutating func parseQuoted() throws(PolicyError) -> String {
            let start = index
            index += 1
            var value = String.UnicodeScalarView()
            while !atEnd {
                let scalar = scalars[index]
                index += 1
                switch scalar {
                case "\"":
                    guard !value.isEmpty else { throw PolicyError.syntax(position: start, message: "empty attribute") }
                    return String(value)
                case "\\":
                    guard !atEnd, scalars[index] == "\"" || scalars[index] == "\\" else {
                        throw error("only \\\" and \\\\ may follow a backslash")
                    }
                    value.append(scalars[index])
                    index += 1
                default:
                    value.append(scalar)
                }
            }
            throw PolicyError.syntax(position: start, message: "unterminated quoted attribute")
        }
    }
}
