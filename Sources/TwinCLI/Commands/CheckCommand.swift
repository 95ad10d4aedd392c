import ArgumentParser
import Foundation
import Logging
import TwinServer
import TwinStorage

/// `twin check`: the operator's audit of a data folder (`StoreAudit`, plus SQLite's own integrity
/// check). Exit status 0 when clean, 1 when damage remains.
struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check a server's data folder: every chunk's blob and tag, every entry's file and chunks, orphan blobs.",
        discussion: "Without --repair nothing changes and servers may keep running. --repair deletes orphan blobs and marks corrupt or missing chunks lost (corrupt blobs move to blobs/quarantine), so the next upload of that content stores them again; run it with the servers stopped.")

    @Option(help: "Data folder of `twin serve` (its metadata.sqlite and blobs/).") var data: String?
    @Option(help: "Metadata store URL, as `twin serve --metadata` takes it (instead of --data).") var metadata: String?
    @Option(help: "Blob store URL, as `twin serve --blobs` takes it (instead of --data).") var blobs: String?
    @Flag(help: "Delete orphans; quarantine corrupt blobs and mark their chunks for re-upload.") var repair = false
    @Flag(help: "Print one JSON object.") var json = false

    func run() async throws {
        let metadataURL: String, blobsURL: String
        if let data {
            let database = (data as NSString).appendingPathComponent("metadata.sqlite")
            guard FileManager.default.fileExists(atPath: database) else {
                throw ValidationError("no TwinStore data folder at \(data) (no metadata.sqlite)")
            }
            (metadataURL, blobsURL) = ("sqlite:" + database, "file:" + (data as NSString).appendingPathComponent("blobs"))
        } else if let metadata, let blobs {
            (metadataURL, blobsURL) = (metadata, blobs)
        } else {
            throw ValidationError("give --data DIR, or both --metadata and --blobs")
        }
        let storage = try await Storage.open(metadata: metadataURL, blobs: blobsURL, logger: Logger(label: "twin.check"))
        let repair = self.repair
        // The stores' services (a connection pool) run for as long as the audit does.
        let (report, integrity) = try await withThrowingTaskGroup(of: Void.self) { group in
            for service in storage.services { group.addTask { try await service.run() } }
            defer { group.cancelAll() }
            try await storage.prepare()
            let integrity = try await (storage.metadata as? SQLiteMetadataStore)?.integrityCheck() ?? ["ok"]
            return (try await StoreAudit.run(store: storage.metadata, blobs: storage.blobs, repair: repair), integrity)
        }
        try await storage.close()
        let databaseOK = integrity == ["ok"]
        if json {
            printJSON(["chunks": report.chunks, "blobs": report.blobs, "entries": report.entries,
                       "missing": report.missing.count, "corrupt": report.corrupt.count, "orphans": report.orphans.count,
                       "repaired": report.repaired, "database": databaseOK ? "ok" : integrity.joined(separator: "; "),
                       "details": ["missing": report.missing, "corrupt": report.corrupt, "orphans": report.orphans]])
        } else {
            print("\(report.chunks) chunks, \(report.blobs) blobs, \(report.entries) entries; database \(databaseOK ? "ok" : integrity.joined(separator: "; "))")
            for (label, items) in [("missing", report.missing), ("corrupt", report.corrupt), ("orphan", report.orphans)] {
                for item in items { print("\(label): \(item)") }
            }
            print("missing \(report.missing.count), corrupt \(report.corrupt.count), orphans \(report.orphans.count), repaired \(report.repaired)")
        }
        if !report.isClean || !databaseOK { throw ExitCode(1) }
    }
}
