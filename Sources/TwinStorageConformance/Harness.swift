import Foundation

/// Runs `body` on storage from `make`, then `dispose`s it whether `body` passed or not.
func withFresh<Storage>(_ make: () async throws -> Storage, dispose: (Storage) async throws -> Void,
                        _ body: (Storage) async throws -> Void) async throws {
    let storage = try await make()
    do {
        try await body(storage)
    } catch {
        try? await dispose(storage)
        throw error
    }
    try await dispose(storage)
}

/// A service a backend's tests run against, named by environment variables that the test runner
/// (tools/services.sh) sets. A missing one is a failure that says how to start it, never a skip.
public struct RequiredService: Error, CustomStringConvertible {
    public var description: String

    /// The value of `variable`, or a thrown `RequiredService` naming it and `hint`.
    public static func environment(_ variable: String, hint: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[variable], !value.isEmpty else {
            throw RequiredService(description: "set \(variable): \(hint)")
        }
        return value
    }
}
