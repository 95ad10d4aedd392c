import Foundation
import TwinProtocol

public enum TwinClientError: Error, CustomStringConvertible, Sendable {
    case noKeyring(String)
    case keyringExists(String)
    /// The server answered with an error body.
    case server(status: Int, code: String, message: String)
    /// Downloaded content failed verification; nothing was written.
    case integrity(String)
    case accessDenied(String)
    case invalidArgument(String)
    /// A peer's keys differ from the ones pinned for them: a swapped key, or a real change to check
    /// out of band and accept with `twin trust`.
    case keyChanged(user: String, pinned: String, offered: String)
    /// The server is not the one this keyring registered with.
    case serverChanged(String)
    /// The keyring does not open with this passphrase (or was altered).
    case wrongPassphrase(String)
    /// No answer from the server at all: down, a wrong URL, or the network.
    case unreachable(server: String, reason: String)

    public var description: String {
        switch self {
        case .noKeyring(let path): "no keyring at \(path): run 'twin account create NAME --server URL' (or set TWIN_HOME)"
        case .keyringExists(let path): "a keyring already exists at \(path)"
        case .server(let status, let code, let message): "server refused (\(status) \(code)): \(message)" + Self.hint(code: code)
        case .integrity(let message): "verification failed, nothing written: \(message)"
        case .accessDenied(let message): "access denied: \(message)"
        case .invalidArgument(let message): message
        case .keyChanged(let user, let pinned, let offered):
            "\(user)'s keys changed: pinned fingerprint \(pinned), the server now offers \(offered). "
                + "Check \(user)'s fingerprint with them ('twin account fingerprint \(user)' on their side) and run "
                + "'twin trust \(user) FINGERPRINT' if they changed it"
        case .serverChanged(let message): message
        case .wrongPassphrase(let path): "\(path) does not open with this passphrase (or was altered)"
        case .unreachable(let server, let reason):
            "cannot reach \(server) (\(reason)): is 'twin serve' running there, and is the URL right (http://HOST:PORT)?"
        }
    }

    /// What to do about a refusal, for the codes a person meets.
    static func hint(code: String) -> String {
        switch code {
        case ErrorCode.notFound.rawValue: " (check the name: 'twin ls' lists your entries)"
        case ErrorCode.accessDenied.rawValue: " (the owner has not shared it with you: 'twin grants' lists your grants)"
        case ErrorCode.quotaExceeded.rawValue: " (delete entries with 'twin rm', or ask the operator for a larger quota)"
        case ErrorCode.rateLimited.rawValue: " (wait a while and run it again)"
        default: ""
        }
    }

    /// The server answered and refused for good (a 4xx other than 408 and 429): retrying the same
    /// request cannot succeed.
    public var isRefusal: Bool {
        if case .server(let status, _, _) = self { return (400..<500).contains(status) && status != 408 && status != 429 }
        return false
    }

    /// The code the server gave, if any.
    public var serverCode: String? {
        if case .server(_, let code, _) = self { return code }
        return nil
    }
}
