import Foundation
import TwinProtocol

/// The bearer token of the last login, kept beside the keyring (`$TWIN_HOME/token.json`, mode 0600)
/// so that consecutive commands do not each log in: a login is two round trips and a signature, and
/// the server syncs its log to consume the nonce. The keyring next to it holds the keys that can
/// mint a token anyway, so the file exposes nothing the keyring does not. A token is reused only for
/// the same user and server, and only while it has more than `margin` left; any unreadable file is
/// ignored (the command logs in and rewrites it).
public struct TokenCache: Sendable {
    public struct Entry: Codable, Sendable, Equatable {
        public var user: String
        public var server: String
        public var token: String
        public var expiresAt: Date
    }

    public let file: URL
    public var margin: TimeInterval = 60

    public init(directory: URL) { file = directory.appendingPathComponent("token.json") }

    public func load(user: String, server: String, now: Date = Date()) -> Entry? {
        guard let data = try? Data(contentsOf: file),
              let entry = try? TwinProtocol.makeDecoder().decode(Entry.self, from: data),
              entry.user == user, entry.server == server, entry.expiresAt > now.addingTimeInterval(margin) else { return nil }
        return entry
    }

    /// Best effort: a cache that cannot be written only means the next command logs in.
    public func save(_ entry: Entry) {
        guard let data = try? TwinProtocol.makeEncoder().encode(entry) else { return }
        _ = Keyring.writeOwnerOnly(data, to: file)
    }
}
