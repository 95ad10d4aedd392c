import Hummingbird
import Synchronization

/// The methods each routed path serves, so that a request for a path that exists with a method it
/// does not serve answers 405 with `Allow` (RFC 9110 §15.5.6), not 404. Loaded once the router has
/// all its routes; read by `ErrorMiddleware`, which is added before them.
final class RouteTable: Sendable {
    private let paths = Mutex<[(components: [Substring], methods: Set<String>)]>([])

    func load(_ routes: [(path: RouterPath, method: HTTPRequest.Method)]) {
        var table: [String: Set<String>] = [:]
        for route in routes { table["\(route.path)", default: []].insert(route.method.rawValue) }
        paths.withLock { $0 = table.map { (Self.components("/" + $0.key), $0.value) } }
    }

    /// The methods served at `path`, sorted (empty when no route matches it). A route's capture
    /// (`{name}`, as a router path prints it)
    /// matches any one segment.
    func methods(at path: String) -> [String] {
        let segments = Self.components(path)
        let served = paths.withLock { paths in
            paths.filter { route in
                route.components.count == segments.count
                    && zip(route.components, segments).allSatisfy { $0.hasPrefix("{") || $0.hasPrefix(":") || $0 == $1 }
            }.map(\.methods)
        }
        return served.reduce(into: Set<String>()) { $0.formUnion($1) }.sorted()
    }

    private static func components(_ path: String) -> [Substring] {
        path.split(separator: "/", omittingEmptySubsequences: true)
    }
}
