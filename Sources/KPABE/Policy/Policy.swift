/// An access policy: a threshold tree. `and` is n-of-n, `or` is 1-of-n, `k of (…)` is k-of-n; leaves
/// are attributes (case-sensitive UTF-8 strings).
public indirect enum Policy: Sendable, Hashable, CustomStringConvertible {
    case attribute(String)
    case threshold(Int, [Policy])

    /// Limits that keep hostile keys and policies from demanding unbounded work.
    public static let maximumChildren = 1024
    public static let maximumDepth = 32
    public static let maximumLeaves = 4096
    public static let maximumAttributeLength = 255
    /// The longest policy text accepted, in UTF-8 bytes: room for the most leaves at a typical
    /// attribute length, checked before anything is parsed.
    public static let maximumTextLength = 64 << 10

    public static func and(_ children: [Policy]) -> Policy { .threshold(children.count, children) }
    public static func or(_ children: [Policy]) -> Policy { .threshold(1, children) }

    /// The plain evaluator: whether `attributes` satisfy the policy.
    public func isSatisfied(by attributes: Set<String>) -> Bool {
        switch self {
        case .attribute(let name):
            return attributes.contains(name)
        case .threshold(let k, let children):
            return children.lazy.filter { $0.isSatisfied(by: attributes) }.prefix(k).count == k
        }
    }

    /// Leaves in depth-first, left-to-right order: the order of a key's components.
    public var leaves: [String] {
        switch self {
        case .attribute(let name): [name]
        case .threshold(_, let children): children.flatMap(\.leaves)
        }
    }

    /// The same tree with every leaf renamed by `rename`.
    public func renamingAttributes(_ rename: (String) throws -> String) rethrows -> Policy {
        switch self {
        case .attribute(let name): .attribute(try rename(name))
        case .threshold(let k, let children): .threshold(k, try children.map { try $0.renamingAttributes(rename) })
        }
    }

    var depth: Int {
        switch self {
        case .attribute: 1
        case .threshold(_, let children): 1 + (children.map(\.depth).max() ?? 0)
        }
    }

    /// Checks the structural limits; parsers and decoders call it.
    func validate() throws(PolicyError) {
        guard depth <= Self.maximumDepth else { throw .tooDeep }
        guard leaves.count <= Self.maximumLeaves else { throw .tooManyLeaves }
        try validateNodes()
    }

    private func validateNodes() throws(PolicyError) {
        switch self {
        case .attribute(let name):
            guard !name.isEmpty, name.utf8.count <= Self.maximumAttributeLength else { throw .invalidAttribute(name) }
        case .threshold(let k, let children):
            guard !children.isEmpty, children.count <= Self.maximumChildren else { throw .invalidThreshold(k, children.count) }
            guard k >= 1, k <= children.count else { throw .invalidThreshold(k, children.count) }
            for child in children { try child.validateNodes() }
        }
    }

    /// Canonical text that parses back to the same tree.
    public var description: String {
        switch self {
        case .attribute(let name):
            guard PolicyParser.needsQuotes(name) else { return name }
            // Escaped scalar by scalar, as the parser reads: a backslash followed by a combining
            // mark is one Character, which String's own search would not find.
            var quoted = String.UnicodeScalarView()
            quoted.append("\"")
            for scalar in name.unicodeScalars {
                if scalar == "\\" || scalar == "\"" { quoted.append("\\") }
                quoted.append(scalar)
            }
            quoted.append("\"")
            return String(quoted)
        case .threshold(let k, let children) where k == children.count && children.count > 1:
            return children.map { $0.nestedDescription }.joined(separator: " and ")
        case .threshold(1, let children) where children.count > 1:
            return children.map { $0.nestedDescription }.joined(separator: " or ")
        case .threshold(let k, let children):
            return "\(k) of (\(children.map(\.description).joined(separator: ", ")))"
        }
    }

    private var nestedDescription: String {
        if case .threshold(let k, let children) = self, children.count > 1, k == 1 || k == children.count {
            return "(\(description))"
        }
        return description
    }
}

/// Why a policy was refused.
public enum PolicyError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A syntax error at a character offset of the policy text.
    case syntax(position: Int, message: String)
    case invalidThreshold(Int, Int)
    case invalidAttribute(String)
    case tooDeep
    case tooManyLeaves
    case tooLong

    public var description: String {
        switch self {
        case .syntax(let position, let message): "policy syntax error at character \(position + 1): \(message)"
        case .invalidThreshold(let k, let n): "invalid threshold \(k) of \(n)"
        case .invalidAttribute(let name): "invalid attribute \"\(name)\" (empty or longer than \(Policy.maximumAttributeLength) bytes)"
        case .tooDeep: "policy nests deeper than \(Policy.maximumDepth) levels"
        case .tooManyLeaves: "policy has more than \(Policy.maximumLeaves) attributes"
        case .tooLong: "policy is longer than \(Policy.maximumTextLength) bytes"
        }
    }
}
