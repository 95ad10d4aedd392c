import Convergent
import Foundation

/// What the metadata says about its own references, for an audit (`MetadataStore.referenceAudit`).
public struct ReferenceAudit: Sendable, Equatable {
    public var entries: Int
    /// Entries (`owner/name`) whose file is not recorded.
    public var entriesWithoutFile: [String]
    /// Chunks that files use but that are not recorded.
    public var unrecordedChunks: [Tag]
    /// Chunks being collected: their blobs may still exist, and are no orphans.
    public var doomedChunks: [Tag]

    public init(entries: Int, entriesWithoutFile: [String], unrecordedChunks: [Tag], doomedChunks: [Tag]) {
        self.entries = entries
        self.entriesWithoutFile = entriesWithoutFile
        self.unrecordedChunks = unrecordedChunks
        self.doomedChunks = doomedChunks
    }
}

/// An audit of a metadata store and a blob store together, like `restic check --read-data`: every
/// recorded chunk has a blob whose Merkle root is its tag, every entry's file and chunks exist, and
/// every blob is known. With `repair`, orphan blobs are deleted, and corrupt or missing chunks are
/// marked lost (a corrupt blob moved aside first), so the next upload of that content stores them
/// again. `twin check` runs it; without `repair` it changes nothing and may run beside live servers.
/// Repairing deletes orphans, which a server that is writing may be about to record: repair with the
/// servers stopped.
public enum StoreAudit {
    public struct Report: Sendable, Equatable, Codable {
        public var chunks = 0
        public var blobs = 0
        public var entries = 0
        /// Recorded chunks with no blob (or already marked lost), and entries or files naming
        /// records that do not exist.
        public var missing: [String] = []
        /// Blobs that no longer hash to their tag.
        public var corrupt: [String] = []
        /// Blobs no chunk record names.
        public var orphans: [String] = []
        /// Orphans deleted, and corrupt or missing chunks marked lost for re-upload.
        public var repaired = 0

        /// Whether damage remains: data that cannot be read back until someone uploads it again,
        /// or records naming what does not exist. Orphans are waste, not damage, but a check
        /// that did not delete them reports them so.
        public var isClean: Bool { missing.isEmpty && corrupt.isEmpty && (orphans.isEmpty || repaired >= orphans.count) }
    }

    public static func run(store: any MetadataStore, blobs: BlobStore, repair: Bool) async throws -> Report {
        var report = Report()
        let chunks = try await store.allChunks()
        let references = try await store.referenceAudit()
        let lost = Set(try await store.lostChunks())
        let stored = try await blobs.allTags()
        report.chunks = chunks.count
        report.blobs = stored.count
        report.entries = references.entries
        let storedSet = Set(stored)
        var toMarkLost: [Tag] = []
        for chunk in chunks {
            if lost.contains(chunk.tag) {
                report.missing.append(chunk.tag.hex)
                continue
            }
            guard storedSet.contains(chunk.tag) else {
                report.missing.append(chunk.tag.hex)
                toMarkLost.append(chunk.tag)
                continue
            }
            do {
                _ = try await blobs.get(chunk.tag)
            } catch BlobStoreError.corrupt(let tag) {
                report.corrupt.append(tag.hex)
                if repair { try await blobs.quarantine(tag) }
                toMarkLost.append(tag)
            }
        }
        report.missing += references.entriesWithoutFile.map { "entry \($0)" }
        report.missing += references.unrecordedChunks.map { "chunk \($0.hex) (unrecorded)" }
        let known = Set(chunks.map(\.tag)).union(references.doomedChunks)
        let orphans = stored.filter { !known.contains($0) }
        report.orphans = orphans.map(\.hex)
        if repair {
            for orphan in orphans { try await blobs.delete(orphan) }
            if !toMarkLost.isEmpty { try await store.markLost(toMarkLost) }
            report.repaired = orphans.count + toMarkLost.count
        }
        return report
    }
}
