import Foundation
import PostgresNIO

/// A PostgreSQL server and database named by URL:
/// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?schema=NAME]` (also `postgresql://`). Without
/// a password in the URL, `PGPASSWORD` is used, as libpq does. TLS is used when the server offers
/// it (`?sslmode=disable` turns it off, `?sslmode=require` demands it).
public struct PostgresLocation: Sendable {
    public var configuration: PostgresClient.Configuration
    public var schema: String

    public init(_ url: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard let components = URLComponents(string: url), let scheme = components.scheme,
              ["postgres", "postgresql"].contains(scheme) else {
            throw PostgresMetadataStoreError.invalidURL("expected postgres://USER@HOST:PORT/DATABASE, got \(url)")
        }
        guard let host = components.host, !host.isEmpty else { throw PostgresMetadataStoreError.invalidURL("no host in \(url)") }
        guard let user = components.user?.removingPercentEncoding, !user.isEmpty else {
            throw PostgresMetadataStoreError.invalidURL("no user in \(url)")
        }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty else { throw PostgresMetadataStoreError.invalidURL("no database in \(url)") }
        let password = components.password?.removingPercentEncoding ?? environment["PGPASSWORD"]
        let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        let tls: PostgresClient.Configuration.TLS
        switch query["sslmode"] ?? "prefer" {
        case "disable": tls = .disable
        case "require", "verify-ca", "verify-full": tls = .require(.makeClientConfiguration())
        default: tls = .prefer(.makeClientConfiguration())
        }
        configuration = PostgresClient.Configuration(host: host, port: components.port ?? 5432, username: user,
                                                     password: password, database: database, tls: tls)
        schema = query["schema"] ?? "public"
        guard !schema.isEmpty, schema.utf8.count <= 63,
              schema.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "_") }) else {
            throw PostgresMetadataStoreError.invalidURL("schema names are letters, digits and _ (at most 63)")
        }
    }
}
