import Foundation
import Logging
import Testing
import TwinStorage
import TwinStorageConformance
@testable import TwinStoragePostgres

/// The PostgreSQL store against a real server: `TWIN_PG_URL` (tools/services.sh starts one). A
/// missing server is a failure, not a skip.
@Suite("PostgresMetadataStore")
struct PostgresMetadataStoreTests {
    static var url: String {
        get throws { try RequiredService.environment("TWIN_PG_URL", hint: "tools/services.sh starts PostgreSQL and prints it") }
    }

    /// A store in a schema of its own, migrated, run for `body`, then dropped.
    static func withStore(_ body: @Sendable (PostgresMetadataStore) async throws -> Void) async throws {
        let schema = "test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        let store = try PostgresMetadataStore(url: try url + "?schema=\(schema)", logger: Logger(label: "test"))
        try await store.withRunning { store in
            try await store.migrate()
            do {
                try await body(store)
            } catch {
                try? await store.dropSchema()
                throw error
            }
            try await store.dropSchema()
        }
    }

    @Test("conformance", arguments: MetadataStoreConformance.allCases)
    func conformance(_ behaviour: MetadataStoreConformance) async throws {
        try await Self.withStore { store in
            try await behaviour.run({ store }, dispose: { _ in })
        }
    }

    @Test("migrations run once however many servers start together, and a newer schema is refused")
    func migrations() async throws {
        try await Self.withStore { store in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 { group.addTask { try await store.migrate() } }
                try await group.waitForAll()
            }
            try await store.createUser(Fixture.user("alice"))
            try await store.migrate()
            #expect(try await store.user(named: "alice") == Fixture.user("alice"))
        }
    }

    @Test("URLs: user, password from the URL or PGPASSWORD, port, database, schema; malformed ones refused")
    func urls() throws {
        let plain = try PostgresLocation("postgres://twin@127.0.0.1:55432/twin", environment: ["PGPASSWORD": "secret"])
        #expect(plain.configuration.username == "twin")
        #expect(plain.configuration.password == "secret")
        #expect(plain.configuration.port == 55432)
        #expect(plain.configuration.database == "twin")
        #expect(plain.schema == "public")
        let full = try PostgresLocation("postgresql://a%40b:p%2Fw@db.example:5433/photos?schema=node_1", environment: [:])
        #expect(full.configuration.username == "a@b")
        #expect(full.configuration.password == "p/w")
        #expect(full.schema == "node_1")
        for bad in ["mysql://u@h/d", "postgres://h/d", "postgres://u@h", "postgres://u@h/d?schema=a;drop", "postgres:///d"] {
            #expect(throws: PostgresMetadataStoreError.self, "\(bad)") { try PostgresLocation(bad, environment: [:]) }
        }
    }
}
