import BinaryCoding
import Convergent
import Foundation
import GRDB

/// A bound value or a column value.
typealias SQLiteData = DatabaseValue

extension DatabaseValue {
    static func text(_ text: String) -> DatabaseValue { text.databaseValue }
}

/// How the SQLite store lays out values it has no native type for. Kept in one place so the schema's
/// column types and the Swift side cannot drift apart.
///
/// - Tags are 32-byte BLOBs (half the size of hex, and they compare bytewise like `Digest32`).
/// - Dates are INTEGER Unix milliseconds: sortable, comparable in SQL, and exact for the
///   millisecond-precision dates a server produces (`rounded()` makes the round trip exact).
/// - String lists (attributes) are JSON arrays in TEXT, so they stay readable with the sqlite3 shell.
enum SQLiteValue {
    static func tag(_ tag: Tag) -> SQLiteData { tag.withUnsafeBytes { Data($0) }.databaseValue }

    static func bytes(_ bytes: [UInt8]) -> SQLiteData { Data(bytes).databaseValue }

    static func text(_ text: String) -> SQLiteData { text.databaseValue }

    static func integer(_ value: Int) -> SQLiteData { Int64(value).databaseValue }

    static func bool(_ value: Bool) -> SQLiteData { Int64(value ? 1 : 0).databaseValue }

    static func date(_ date: Date) -> SQLiteData { milliseconds(date).databaseValue }

    static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded())
    }

    static func date(milliseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }

    static func json(_ strings: [String]) throws -> SQLiteData {
        String(decoding: try JSONEncoder().encode(strings), as: UTF8.self).databaseValue
    }
}

/// One result row, copied out of the database connection so it can leave the database's queue.
struct SQLiteRow: Sendable {
    private let values: [String: DatabaseValue]

    init(_ row: Row) {
        var values: [String: DatabaseValue] = [:]
        for (column, value) in row { values[column] = value }
        self.values = values
    }

    func column(_ name: String) -> DatabaseValue? { values[name] }

    private func value(_ column: String) throws -> DatabaseValue {
        guard let data = values[column] else { throw SQLiteMetadataStoreError.malformedRow(column: column) }
        return data
    }

    private func blob(_ column: String) throws -> Data {
        guard case .blob(let data) = try value(column).storage else { throw SQLiteMetadataStoreError.malformedRow(column: column) }
        return data
    }

    func tag(_ column: String) throws -> Tag {
        guard let tag = Tag(bytes: Array(try blob(column))) else { throw SQLiteMetadataStoreError.malformedRow(column: column) }
        return tag
    }

    func bytes(_ column: String) throws -> [UInt8] { Array(try blob(column)) }

    /// nil for SQL NULL; throws for any other non-BLOB value.
    func optionalBytes(_ column: String) throws -> [UInt8]? {
        try value(column).isNull ? nil : try bytes(column)
    }

    func string(_ column: String) throws -> String {
        guard case .string(let text) = try value(column).storage else { throw SQLiteMetadataStoreError.malformedRow(column: column) }
        return text
    }

    func integer(_ column: String) throws -> Int {
        guard case .int64(let value) = try value(column).storage else { throw SQLiteMetadataStoreError.malformedRow(column: column) }
        return Int(value)
    }

    func bool(_ column: String) throws -> Bool { try integer(column) != 0 }

    func date(_ column: String) throws -> Date {
        SQLiteValue.date(milliseconds: Int64(try integer(column)))
    }

    func stringList(_ column: String) throws -> [String] {
        guard let list = try? JSONDecoder().decode([String].self, from: Data(try string(column).utf8)) else {
            throw SQLiteMetadataStoreError.malformedRow(column: column)
        }
        return list
    }
}

/// `OwnershipChallenge` as a BLOB: id (32 bytes), expiry in Unix milliseconds (Int64), the session id
/// (UInt32 length, UTF-8), the leaf count (UInt32), then each leaf as chunk and leaf (UInt32 each);
/// all big-endian. Read on every step of an upload session, and a batch's challenge has hundreds
/// of leaves, so it is not parsed as JSON on each read. Schema 1 stored JSON TEXT (id in hex,
/// leaves as `[chunk, leaf]` pairs, `expiresAt` in milliseconds), which is still read.
enum ChallengeCoding {
    static func encode(_ challenge: OwnershipChallenge) -> [UInt8] { ChallengeBytes.encode(challenge) }

    /// nil for SQL NULL (no outstanding challenge).
    static func decode(_ value: DatabaseValue?, column: String) throws -> OwnershipChallenge? {
        switch value?.storage {
        case .null?: return nil
        case .blob(let data)?:
            guard let challenge = ChallengeBytes.decode(Array(data)) else { throw SQLiteMetadataStoreError.malformedRow(column: column) }
            return challenge
        case .string(let text)?: return try decodeSchema1(text, column: column)
        default: throw SQLiteMetadataStoreError.malformedRow(column: column)
        }
    }

    private struct Schema1: Codable {
        var id: String
        var session: String
        var leaves: [[Int]]
        var expiresAt: Int64
    }

    private static func decodeSchema1(_ text: String, column: String) throws -> OwnershipChallenge {
        guard let stored = try? JSONDecoder().decode(Schema1.self, from: Data(text.utf8)),
              let id = Digest32(hex: stored.id),
              stored.leaves.allSatisfy({ $0.count == 2 }) else {
            throw SQLiteMetadataStoreError.malformedRow(column: column)
        }
        return OwnershipChallenge(id: id, session: stored.session,
                                  leaves: stored.leaves.map { LeafReference(chunk: $0[0], leaf: $0[1]) },
                                  expiresAt: SQLiteValue.date(milliseconds: stored.expiresAt))
    }

    /// The schema-1 TEXT form, for tests of upgrades.
    static func encodeSchema1(_ challenge: OwnershipChallenge) throws -> String {
        let stored = Schema1(id: challenge.id.hex, session: challenge.session, leaves: challenge.leaves.map { [$0.chunk, $0.leaf] },
                             expiresAt: SQLiteValue.milliseconds(challenge.expiresAt))
        return String(decoding: try JSONEncoder().encode(stored), as: UTF8.self)
    }
}
