import CFileSync
import Convergent
import Foundation
import NIOPosix // NIOThreadPool: blocking file I/O runs there, off the cooperative pool.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `BlobBackend` in a local folder: the embedded default.
///
/// Layout: `ROOT/ab/<64 hex digits>` for the tag `ab…` (one fan-out level of 256 directories: a
/// million blobs is ~4,000 per directory, which hashed ext4/xfs directories look up in one step), and
/// `ROOT/tmp` for writes in progress. Two levels (65,536 directories) would make almost every early
/// write create and fsync a new directory.
/// A blob appears under its final name only complete and on disk: a write goes to a temporary
/// file, which is made durable before it is renamed into place, and the rename is made durable
/// before the write returns. Since blobs are immutable and named by content, concurrent writes of
/// one tag just rename identical files over each other, and several processes can share the folder
/// without locks.
///
/// On Linux a batch costs two flushes, whatever its size: the temporary files are written unsynced,
/// one `syncfs(2)` makes all their bytes durable, they are renamed, and a second `syncfs` makes the
/// names durable (per-file `fsync`s, file then directory, would cost two device flushes per blob).
/// `syncfs` flushes the whole filesystem, other writers' dirty pages with ours: one more reason to
/// give the data folder a filesystem of its own.
/// Elsewhere each temporary file, and each directory that gains a name, is fsynced.
public struct FileSystemBlobBackend: BlobBackend {
    public let root: String

    /// Temporary files older than this are leftovers of a crashed writer (a live write takes
    /// seconds; another process sharing the folder may be in one), and are removed when a store is
    /// opened.
    private static let abandonedAfter: TimeInterval = 120

    /// Creates `root` and its `tmp` folder if needed.
    public init(root: String) throws {
        self.root = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
        try FileSystem.makeDirectory(self.root)
        try FileSystem.makeDirectory(temporaryDirectory)
        try removeAbandonedTemporaryFiles()
    }

    private var temporaryDirectory: String { root + "/tmp" }

    private func directory(for hex: String) -> String { root + "/" + hex.prefix(2) }

    private func path(for tag: Tag) -> String {
        let hex = tag.hex
        return directory(for: hex) + "/" + hex
    }

    // MARK: BlobBackend

    public func put(_ tag: Tag, _ bytes: [UInt8]) async throws {
        do {
            try await putAll([(tag, bytes)])
        } catch let error as BlobBatchWriteError {
            throw error.underlying
        }
    }

    public func putAll(_ blobs: [(tag: Tag, bytes: [UInt8])]) async throws {
        guard !blobs.isEmpty else { return }
        try await NIOThreadPool.singleton.runIfActive { try self.write(blobs) }
    }

    public func get(_ tag: Tag) async throws -> [UInt8]? {
        try await NIOThreadPool.singleton.runIfActive { try FileSystem.readFile(self.path(for: tag)) }
    }

    /// Not followed by a directory fsync: a blob resurrected by a crash is unreferenced garbage,
    /// which `allTags` audits find, never a dangling reference.
    public func delete(_ tag: Tag) async throws {
        try await NIOThreadPool.singleton.runIfActive {
            let path = self.path(for: tag)
            guard unlink(path) == 0 || errno == ENOENT else { throw FileSystemBlobBackendError(.delete, path, errno) }
        }
    }

    /// Renames the blob to `ROOT/quarantine/<hex>.<unix time>`, outside every listing.
    public func quarantine(_ tag: Tag) async throws {
        try await NIOThreadPool.singleton.runIfActive {
            try FileSystem.makeDirectory(self.root + "/quarantine")
            let path = self.path(for: tag)
            let target = self.root + "/quarantine/" + tag.hex + "." + String(Int(Date().timeIntervalSince1970))
            guard rename(path, target) == 0 || errno == ENOENT else { throw FileSystemBlobBackendError(.rename, path, errno) }
        }
    }

    /// One fan-out folder at a time. Names that are not canonical blob paths (foreign files, `tmp`,
    /// `quarantine`) are skipped.
    public func list() -> AsyncThrowingStream<Tag, any Error> {
        let root = self.root
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    let fanOuts = try await NIOThreadPool.singleton.runIfActive {
                        try FileSystem.list(root).filter(Self.isFanOutName).sorted()
                    }
                    for fanOut in fanOuts {
                        try Task.checkCancellation()
                        let names = try await NIOThreadPool.singleton.runIfActive { try FileSystem.list(root + "/" + fanOut) }
                        for name in names {
                            guard let tag = Tag(hex: name), tag.hex == name, name.hasPrefix(fanOut) else { continue }
                            continuation.yield(tag)
                        }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    // MARK: Writing

    #if os(Linux)
    private static let syncsWholeFilesystem = true
    #else
    private static let syncsWholeFilesystem = false
    #endif

    private func write(_ blobs: [(tag: Tag, bytes: [UInt8])]) throws {
        var stored: [Tag] = []
        var staged: [(tag: Tag, temporary: String, parent: String, destination: String)] = []
        var renamed = 0
        do {
            var seen = Set<Tag>()
            for blob in blobs where seen.insert(blob.tag).inserted {
                let hex = blob.tag.hex
                let parent = directory(for: hex)
                let destination = parent + "/" + hex
                // A unique name per writer: concurrent writes of one tag must not share a file.
                let temporary = temporaryDirectory + "/" + hex + "." + String(UInt64.random(in: .min ... .max), radix: 16)
                staged.append((blob.tag, temporary, parent, destination))
                try FileSystem.writeNewFile(temporary, blob.bytes, synchronize: !Self.syncsWholeFilesystem)
            }
            if Self.syncsWholeFilesystem { try FileSystem.synchronizeFilesystem(root) }
            var parents: [String] = []
            for blob in staged {
                if !parents.contains(blob.parent) {
                    parents.append(blob.parent)
                    if try FileSystem.makeDirectory(blob.parent), !Self.syncsWholeFilesystem {
                        try FileSystem.synchronizeDirectory(root)
                    }
                }
                guard rename(blob.temporary, blob.destination) == 0 else {
                    throw FileSystemBlobBackendError(.rename, blob.destination, errno)
                }
                renamed += 1
                stored.append(blob.tag)
            }
            // The renames are durable only once the directories holding the new names are.
            if Self.syncsWholeFilesystem {
                if !staged.isEmpty { try FileSystem.synchronizeFilesystem(root) }
            } else {
                for parent in parents { try FileSystem.synchronizeDirectory(parent) }
            }
        } catch {
            for blob in staged[renamed...] { _ = unlink(blob.temporary) }
            throw BlobBatchWriteError(stored: stored, underlying: error)
        }
    }

    private static func isFanOutName(_ name: String) -> Bool {
        name.utf8.count == 2 && name.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
            || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
    }

    private func removeAbandonedTemporaryFiles() throws {
        let threshold = Date().addingTimeInterval(-Self.abandonedAfter)
        for name in try FileSystem.list(temporaryDirectory) {
            let path = temporaryDirectory + "/" + name
            if let modified = try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date,
               modified < threshold {
                _ = unlink(path)
            }
        }
    }
}

/// A failed system call of the filesystem blob backend.
public struct FileSystemBlobBackendError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Operation: String, Sendable {
        case makeDirectory, open, read, write, synchronize, close, rename, delete, stat, list
    }

    public var operation: Operation
    public var path: String
    /// The `errno` value.
    public var code: Int32

    init(_ operation: Operation, _ path: String, _ code: Int32) {
        self.operation = operation
        self.path = path
        self.code = code
    }

    public var description: String { "\(operation.rawValue) \(path): \(String(cString: strerror(code)))" }
}

/// The POSIX calls the store needs, each retrying EINTR and reporting failures as typed errors.
private enum FileSystem {
    /// Creates `path` unless it exists; returns whether it did.
    @discardableResult
    static func makeDirectory(_ path: String) throws -> Bool {
        if mkdir(path, 0o755) == 0 { return true }
        guard errno == EEXIST else { throw FileSystemBlobBackendError(.makeDirectory, path, errno) }
        return false
    }

    /// Flushes the whole filesystem holding `path` (Linux only).
    static func synchronizeFilesystem(_ path: String) throws {
        let descriptor = try openRetrying(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        defer { _ = close(descriptor) }
        guard twin_sync_filesystem(descriptor) == 0 else { throw FileSystemBlobBackendError(.synchronize, path, errno) }
    }

    static func synchronizeDirectory(_ path: String) throws {
        let descriptor = try openRetrying(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        defer { _ = close(descriptor) }
        guard fsync(descriptor) == 0 else { throw FileSystemBlobBackendError(.synchronize, path, errno) }
    }

    /// Writes `bytes` to a file that must not exist yet, and fsyncs it if asked to.
    static func writeNewFile(_ path: String, _ bytes: [UInt8], synchronize: Bool) throws {
        let descriptor = try openRetrying(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode: 0o644)
        var closed = false
        defer { if !closed { _ = close(descriptor) } }
        try bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw FileSystemBlobBackendError(.write, path, errno)
                }
                offset += written
            }
        }
        guard !synchronize || fsync(descriptor) == 0 else { throw FileSystemBlobBackendError(.synchronize, path, errno) }
        closed = true
        // close can report a deferred write error (NFS); the data is not safe if it does.
        guard close(descriptor) == 0 else { throw FileSystemBlobBackendError(.close, path, errno) }
    }

    /// The whole file, or nil when it does not exist.
    static func readFile(_ path: String) throws -> [UInt8]? {
        let descriptor: Int32
        do {
            descriptor = try openRetrying(path, O_RDONLY | O_CLOEXEC)
        } catch let error as FileSystemBlobBackendError where error.code == ENOENT || error.code == ENOTDIR {
            return nil
        }
        defer { _ = close(descriptor) }
        var bytes: [UInt8] = []
        var status = stat()
        if fstat(descriptor, &status) == 0 { bytes.reserveCapacity(Int(status.st_size)) }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw FileSystemBlobBackendError(.read, path, errno)
            }
            if count == 0 { return bytes }
            bytes.append(contentsOf: buffer[0..<count])
        }
    }

    static func list(_ path: String) throws -> [String] {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: path)
        } catch {
            let code = ((error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError)?.code
            throw FileSystemBlobBackendError(.list, path, code.map(Int32.init) ?? EIO)
        }
    }

    private static func openRetrying(_ path: String, _ flags: Int32, mode: mode_t = 0) throws -> Int32 {
        while true {
            let descriptor = open(path, flags, mode)
            if descriptor >= 0 { return descriptor }
            if errno != EINTR { throw FileSystemBlobBackendError(.open, path, errno) }
        }
    }
}
