import ArgumentParser
import Convergent
import Foundation
import TwinClient

/// `twin scan`: what TwinStore would store for a set of files, without a server.
struct Scan: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "scan",
        abstract: "Report what TwinStore would store for files and folders (chunks, dedup, stored bytes).")

    @Argument(help: "Files or folders (walked recursively, in name order).")
    var paths: [String]

    @Flag(help: "Print one JSON object and nothing else.")
    var json = false

    func run() async throws {
        let files = try FileWalker.files(under: paths)
        let start = BenchClock.now()
        let progress = ProgressLine(enabled: !json)
        var totals = ScanTotals()
        let width = max(1, ProcessInfo.processInfo.activeProcessorCount)
        let encoder = ConvergentEncoder(bufferPool: ChunkBufferPool(limit: width))
        try await forEachConcurrently(files, width: width) { _, path in
            try await FileSummary.encode(path: path, with: encoder)
        } consume: { summary in
            totals.add(summary)
            progress.update("\(totals.files)/\(files.count) files, \(ByteCount(totals.logicalBytes)) read, \(ByteCount(totals.storedBytes)) stored")
        }
        progress.finish()
        let seconds = Double(BenchClock.now() - start) / 1e9
        let report = totals.report(seconds: seconds)
        if json {
            printJSON(report)
        } else {
            print("""
                files            \(totals.files)
                logical bytes    \(totals.logicalBytes) (\(ByteCount(totals.logicalBytes)))
                chunks           \(totals.chunks), unique \(totals.uniqueChunks.count)
                stored bytes     \(totals.storedBytes) (\(ByteCount(totals.storedBytes))): chunk ciphertexts \(totals.chunkBytes) + manifests \(totals.manifestBytes)
                file-level dedup \(totals.fileLevelBytes) (\(ByteCount(totals.fileLevelBytes)))
                saved            \(String(format: "%.1f", 100 * (1 - Double(totals.storedBytes) / Double(max(1, totals.logicalBytes)))))% of logical bytes
                throughput       \(String(format: "%.1f", Double(totals.logicalBytes) / 1e6 / max(seconds, 1e-9))) MB/s in \(String(format: "%.2f", seconds)) s
                """)
        }
    }
}

/// What one file contributes: its tags and sizes, not its contents.
struct FileSummary: Sendable {
    var fileTag: Tag
    var length: Int
    var manifestLength: Int
    var chunks: [(tag: Tag, ciphertextLength: Int)]

    static func encode(path: String, with encoder: ConvergentEncoder) async throws -> FileSummary {
        var chunks: [(tag: Tag, ciphertextLength: Int)] = []
        let encoded = try await encoder.encode(try FileByteSource(path: path)) { chunk in
            chunks.append((chunk.tag, chunk.sealed.count))
        }
        return FileSummary(fileTag: encoded.fileTag, length: encoded.length,
                           manifestLength: encoded.sealedManifest.count, chunks: chunks)
    }
}

struct ScanTotals {
    var files = 0
    var logicalBytes = 0
    var chunks = 0
    var uniqueChunks = Set<Tag>()
    var uniqueFiles = Set<Tag>()
    var chunkBytes = 0
    var manifestBytes = 0
    var fileLevelBytes = 0
    var storedBytes: Int { chunkBytes + manifestBytes }

    mutating func add(_ file: FileSummary) {
        files += 1
        logicalBytes += file.length
        chunks += file.chunks.count
        for chunk in file.chunks where uniqueChunks.insert(chunk.tag).inserted {
            chunkBytes += chunk.ciphertextLength
        }
        if uniqueFiles.insert(file.fileTag).inserted {
            manifestBytes += file.manifestLength
            fileLevelBytes += file.length
        }
    }

    func report(seconds: Double) -> [String: any Encodable] {
        [
            "files": files, "unique_files": uniqueFiles.count,
            "logical_bytes": logicalBytes, "stored_bytes": storedBytes,
            "chunk_bytes": chunkBytes, "manifest_bytes": manifestBytes,
            "file_level_bytes": fileLevelBytes,
            "chunks": chunks, "unique_chunks": uniqueChunks.count,
            "seconds": rounded(seconds, 3),
            "mb_per_second": rounded(Double(logicalBytes) / 1e6 / max(seconds, 1e-9)),
        ]
    }
}

/// Regular files under the given paths, folders walked recursively, each level in name order.
enum FileWalker {
    static func files(under paths: [String]) throws -> [String] {
        try uploads(under: paths).map(\.path)
    }

    /// Every file under `paths` (folders walked recursively in name order, hidden names skipped)
    /// with the entry name it is uploaded under: a file given by itself keeps its base name, a file
    /// found in a folder keeps its path from that folder's parent (`twin upload trip` names
    /// `trip/img1.jpg` and `trip/day2/img2.jpg`).
    static func uploads(under paths: [String]) throws -> [(path: String, name: String)] {
        var result: [(path: String, name: String)] = []
        let manager = FileManager.default
        func visit(_ path: String, name: String) throws {
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw TwinClientError.invalidArgument("no such file or folder: \(path)")
            }
            if isDirectory.boolValue {
                for child in try manager.contentsOfDirectory(atPath: path).sorted() where !child.hasPrefix(".") {
                    try visit((path as NSString).appendingPathComponent(child), name: name + "/" + child)
                }
            } else {
                result.append((path, name))
            }
        }
        for path in paths {
            let absolute = URL(fileURLWithPath: path).standardizedFileURL
            try visit(path, name: absolute.lastPathComponent)
        }
        return result
    }
}

/// A transfer's progress line: files, bytes, throughput and the time left, from the bytes done of
/// a known total.
struct TransferProgress {
    let line: ProgressLine
    let files: Int
    let bytes: Int
    let start = BenchClock.now()
    var doneFiles = 0
    var doneBytes = 0

    init(enabled: Bool, files: Int, bytes: Int) {
        line = ProgressLine(enabled: enabled)
        self.files = files
        self.bytes = bytes
    }

    mutating func advance(bytes done: Int, detail: @autoclosure () -> String = "") {
        doneFiles += 1
        doneBytes += done
        let (files, total, doneFiles, doneBytes, start) = (self.files, bytes, self.doneFiles, self.doneBytes, self.start)
        line.update({
            let seconds = max(Double(BenchClock.now() - start) / 1e9, 0.001)
            let rate = Double(doneBytes) / seconds
            let left = rate > 0 ? Double(max(0, total - doneBytes)) / rate : 0
            let extra = detail()
            return "\(doneFiles)/\(files) files, \(ByteCount(doneBytes)) of \(ByteCount(total)), \(ByteCount(Int(rate)))/s, "
                + "\(Int(left.rounded())) s left" + (extra.isEmpty ? "" : ", " + extra)
        }())
    }

    func finish() { line.finish() }
}

/// A single self-overwriting status line on a terminal's stderr; silent when stderr is not a terminal.
final class ProgressLine: @unchecked Sendable {
    private let enabled: Bool
    private var lastDraw: UInt64 = 0

    init(enabled: Bool) { self.enabled = enabled && isatty(STDERR_FILENO) != 0 }

    /// `text` is only made when the line is drawn: formatting byte counts for every file of a run
    /// whose progress nobody sees is not free.
    func update(_ text: @autoclosure () -> String) {
        guard enabled else { return }
        let now = BenchClock.now()
        guard now - lastDraw > 100_000_000 else { return }
        lastDraw = now
        FileHandle.standardError.write(Data("\r\u{1B}[K\(text())".utf8))
    }

    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}

/// Human-readable byte counts (decimal units, as disks and networks are sold).
struct ByteCount: CustomStringConvertible {
    var value: Int
    init(_ value: Int) { self.value = value }
    var description: String {
        let units = ["B", "kB", "MB", "GB", "TB"]
        var amount = Double(value), unit = 0
        while amount >= 1000, unit < units.count - 1 { amount /= 1000; unit += 1 }
        return unit == 0 ? "\(value) B" : String(format: "%.1f %@", amount, units[unit])
    }
}
