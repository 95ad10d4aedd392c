import Convergent
import Foundation
import TwinStorage

/// Swift Testing has a `Tag` too; in this module a tag is a content tag.
typealias Tag = Convergent.Tag

/// Records for the conformance suites (and backends' own tests). Dates are whole milliseconds,
/// the precision stores keep.
public enum Fixture {
    public static let epoch = Date(timeIntervalSince1970: 1_800_000_000.123)

    public static func wholeMilliseconds(_ date: Date) -> Date {
        Date(timeIntervalSince1970: (date.timeIntervalSince1970 * 1000).rounded() / 1000)
    }

    /// A distinct tag per number (metadata stores never hash what they are given).
    public static func tag(_ number: Int) -> Convergent.Tag {
        var bytes = [UInt8](repeating: 0, count: 32)
        withUnsafeBytes(of: UInt64(number).bigEndian) { bytes.replaceSubrange(24..<32, with: $0) }
        bytes[0] = 0xa5
        return Tag(bytes: bytes)!
    }

    public static func chunk(_ number: Int, size: Int = 1000) -> ChunkReference {
        ChunkReference(tag: tag(number), size: size)
    }

    public static func user(_ name: String, createdAt: Date = epoch) -> UserRecord {
        UserRecord(name: name, signingKey: Array(repeating: 1, count: 32), agreementKey: Array(repeating: 2, count: 32),
                   authorityParameters: Array(name.utf8) + [0, 9, 9], createdAt: createdAt)
    }

    public static func file(_ number: Int, chunks: [ChunkReference], manifestSize: Int = 64) -> FileRecord {
        FileRecord(tag: tag(1_000_000 + number), sealedManifest: (0..<manifestSize).map { UInt8(truncatingIfNeeded: $0 &+ number) },
                   chunks: chunks)
    }

    public static func entry(owner: String, name: String, file: FileRecord, size: Int = 4096,
                      attributes: [String] = ["family", "2026"]) -> EntryRecord {
        EntryRecord(owner: owner, name: name, fileTag: file.tag, attributes: attributes,
                    attributeWrappedKey: Array("ck:\(owner)/\(name)".utf8), ownerWrappedKey: Array("km:\(owner)".utf8),
                    mediaType: "image/jpeg", size: size, createdAt: epoch.addingTimeInterval(60),
                    ownerSeal: Array("seal:\(owner)/\(name)".utf8))
    }

    public static func uploadSession(_ id: String, user: String, file: FileRecord, missing: Set<Convergent.Tag> = [],
                              expiresAt: Date = wholeMilliseconds(Date().addingTimeInterval(3600))) -> UploadSessionRecord {
        UploadSessionRecord(id: id, user: user, fileTag: file.tag, chunks: file.chunks, missing: missing, received: [],
                            challenge: nil, ownershipProven: false, expiresAt: expiresAt)
    }

    public static func challenge(session: String) -> OwnershipChallenge {
        OwnershipChallenge(id: Digest32(bytes: (0..<32).map { UInt8($0) })!, session: session,
                           leaves: [LeafReference(chunk: 0, leaf: 3), LeafReference(chunk: 2, leaf: 0)],
                           expiresAt: epoch.addingTimeInterval(600))
    }
}

extension MetadataStore {
    /// Records `file`'s chunks (as the upload handler does when blobs arrive).
    public func record(_ file: FileRecord) async throws {
        try await recordReceived(file.chunks, session: nil)
    }

    /// Records one chunk outside any upload session.
    public func record(_ chunk: ChunkReference) async throws {
        try await recordReceived([chunk], session: nil)
    }

    /// The upload path end to end: a session for `entry.owner`, then the commit.
    public func upload(_ entry: EntryRecord, file: FileRecord, session: String? = nil) async throws {
        let id = session ?? "upload-\(entry.owner)-\(entry.name)"
        try await createUploadSession(Fixture.uploadSession(id, user: entry.owner, file: file))
        try await commit(entry: entry, file: file, sessionID: id)
    }
}

/// A folder under the system's temporary directory, removed by `remove()`.
public struct TemporaryDirectory: Sendable {
    public let path: String

    public init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("twinstorage-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    public func remove() { try? FileManager.default.removeItem(atPath: path) }
}
