import Caching
import Convergent
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Files of one run that are byte-for-byte copies of a file encoded earlier in it: a photo re-shared
/// under several names is encoded once, and its copies reuse the result.
///
/// Encoding a copy again would give the same result (encoding is a function of the bytes), but it
/// costs a SHA-256 pass over every byte, and such copies can make up much of a run's bytes.
/// Comparing a file with an earlier one costs two reads and a `memcmp`, so only files alike in size
/// and in a hash of their first 16 KiB are compared: found in a dictionary, not by a scan, so a run
/// of many files of one size (thumbnails, fixed-size exports) stays linear. A remembered file counts only while its identity (device,
/// inode, size, modification and change times) is what it was around its encoding, so a file
/// rewritten since is never taken for what it held then; this is the check `git status` and restic
/// rely on. As in git, a file modified in the last two seconds is not remembered: file times are
/// coarse (ext4 ticks in milliseconds, FAT in two seconds), so a rewrite right after the encoding
/// could leave the identity unchanged. Bounded by the ciphertext bytes the remembered results hold,
/// oldest dropped first (`ByteBudgetCache`).
final class IdenticalFiles: Sendable {
    /// What identifies a file's current contents without reading them.
    struct Identity: Equatable, Sendable {
        var device: UInt64
        var inode: UInt64
        var size: Int
        var modified: timespec
        var changed: timespec

        static func == (lhs: Identity, rhs: Identity) -> Bool {
            lhs.device == rhs.device && lhs.inode == rhs.inode && lhs.size == rhs.size
                && lhs.modified.tv_sec == rhs.modified.tv_sec && lhs.modified.tv_nsec == rhs.modified.tv_nsec
                && lhs.changed.tv_sec == rhs.changed.tv_sec && lhs.changed.tv_nsec == rhs.changed.tv_nsec
        }

        /// Whether the file was last modified long enough ago that a new write would change its
        /// modification time (see the type's comment).
        var isSettled: Bool {
            var now = timespec()
            clock_gettime(CLOCK_REALTIME, &now)
            return modified.tv_sec < now.tv_sec - IdenticalFiles.settledAfterSeconds
        }

        /// The identity of the file at `path` now, or nil when it cannot be read (the encoder then
        /// reports the real error).
        init?(path: String) {
            var status = stat()
            guard stat(path, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else { return nil }
            device = UInt64(status.st_dev)
            inode = UInt64(status.st_ino)
            size = Int(status.st_size)
            #if canImport(Darwin)
            modified = status.st_mtimespec
            changed = status.st_ctimespec
            #else
            modified = status.st_mtim
            changed = status.st_ctim
            #endif
        }
    }

    /// What a candidate must share with a file before their bytes are compared.
    private struct Key: Hashable, Sendable {
        var size: Int
        var head: Int
    }

    private struct Remembered: Sendable {
        var path: String
        var identity: Identity
        var prepared: TwinSession.PreparedUpload
    }

    /// How old a modification must be for a file to be remembered: above any file time's tick.
    static let settledAfterSeconds = 2
    static let headBytes = 16 << 10

    private let remembered: ByteBudgetCache<Key, Remembered>

    init(capacityBytes: Int = 64 << 20) {
        remembered = ByteBudgetCache(capacityBytes: capacityBytes)
    }

    /// The encoding of the file at `path` under `name`: an earlier copy's when there is one, else
    /// `encode`'s, which is remembered if nothing touched the file while it ran.
    func encoding(of path: String, name: String,
                  _ encode: () async throws -> TwinSession.PreparedUpload) async throws -> TwinSession.PreparedUpload {
        let identity = Identity(path: path)
        if let identity, let copy = match(path: path, identity: identity, name: name) { return copy }
        let prepared = try await encode()
        if let identity, Identity(path: path) == identity {
            remember(prepared, path: path, identity: identity)
        }
        return prepared
    }

    /// The encoding of an earlier file whose bytes are those of the file at `path` (whose identity
    /// is `identity`), renamed to `name`; nil when there is none. A file that cannot be read (either
    /// one: a remembered file may vanish) means no match; encoding `path` then reports its own errors.
    func match(path: String, identity: Identity, name: String) -> TwinSession.PreparedUpload? {
        guard remembered.count > 0, let key = Self.key(path: path, size: identity.size) else { return nil }
        for candidate in remembered.values(for: key).reversed() where Identity(path: candidate.path) == candidate.identity {
            if (try? Self.sameContents(candidate.path, path)) == true {
                var prepared = candidate.prepared
                prepared.name = name
                return prepared
            }
        }
        return nil
    }

    /// Remembers `prepared`, encoded from `path`, whose identity was `identity` both before and
    /// after the encoding, unless the file was modified too recently to be told apart from a later
    /// rewrite.
    func remember(_ prepared: TwinSession.PreparedUpload, path: String, identity: Identity) {
        guard identity.isSettled else { return }
        let ciphertextBytes = prepared.ciphertextBytes
        guard ciphertextBytes <= remembered.capacityBytes, let key = Self.key(path: path, size: identity.size) else { return }
        remembered.append(Remembered(path: path, identity: identity, prepared: prepared), bytes: ciphertextBytes, under: key)
    }

    /// The size and a hash of the first `headBytes` of the file at `path`; nil when unreadable.
    private static func key(path: String, size: Int) -> Key? {
        guard var file = try? FileByteSource(path: path) else { return nil }
        return withUnsafeTemporaryAllocation(byteCount: headBytes, alignment: 64) { buffer -> Key? in
            guard let count = try? file.fill(buffer) else { return nil }
            var hasher = Hasher()
            hasher.combine(bytes: UnsafeRawBufferPointer(rebasing: buffer[..<count]))
            return Key(size: size, head: hasher.finalize())
        }
    }

    /// Files remembered now.
    var count: Int { remembered.count }

    /// Whether the files at `first` and `second` hold the same bytes, read to the end of both.
    static func sameContents(_ first: String, _ second: String) throws -> Bool {
        var firstFile = try FileByteSource(path: first), secondFile = try FileByteSource(path: second)
        let blockSize = 1 << 18
        return try withUnsafeTemporaryAllocation(byteCount: 2 * blockSize, alignment: 64) { buffer in
            let left = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<blockSize])
            let right = UnsafeMutableRawBufferPointer(rebasing: buffer[blockSize...])
            while true {
                let count = try firstFile.fill(left)
                guard try secondFile.fill(right) == count else { return false }
                if count == 0 { return true }
                guard memcmp(left.baseAddress!, right.baseAddress!, count) == 0 else { return false }
            }
        }
    }
}
