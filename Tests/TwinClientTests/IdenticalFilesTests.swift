import Convergent
import Foundation
import Testing
@testable import TwinClient

@Suite("IdenticalFiles: copies in one upload run are encoded once")
struct IdenticalFilesTests {
    /// A folder with files in it, removed at the end.
    struct Folder {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("twin-identical-\(UUID().uuidString)").path

        init() throws { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }

        /// Writes `bytes` to `name`, dated an hour back unless `settled` is false.
        func write(_ name: String, _ bytes: [UInt8], settled: Bool = true) throws -> String {
            let file = path + "/" + name
            try Data(bytes).write(to: URL(fileURLWithPath: file))
            if settled {
                try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-3600)], ofItemAtPath: file)
            }
            return file
        }

        func remove() { try? FileManager.default.removeItem(atPath: path) }
    }

    static func prepared(_ bytes: [UInt8], name: String) async throws -> TwinSession.PreparedUpload {
        var chunks: [HashedCiphertext] = [], lengths: [Int] = []
        let encoded = try await ConvergentEncoder().encode(MemoryByteSource(bytes)) {
            chunks.append($0.sealed)
            lengths.append($0.plaintextLength)
        }
        return TwinSession.PreparedUpload(name: name, encoded: encoded, chunks: chunks, plaintextLengths: lengths)
    }

    static func identity(_ path: String) throws -> IdenticalFiles.Identity { try #require(IdenticalFiles.Identity(path: path)) }

    static func bytes(_ count: Int, seed: UInt8) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31) ^ seed } }

    @Test("byte comparison: equal, same size but one byte apart, other sizes, empty",
          arguments: [(700_000, 700_000, nil), (700_000, 700_000, 699_999), (700_000, 700_000, 0), (700_000, 300_000, nil), (0, 0, nil)] as [(Int, Int, Int?)])
    func sameContents(_ firstSize: Int, _ secondSize: Int, _ flipped: Int?) throws {
        let folder = try Folder()
        defer { folder.remove() }
        var second = Self.bytes(secondSize, seed: 5)
        if let flipped { second[flipped] ^= 1 }
        let a = try folder.write("a", Self.bytes(firstSize, seed: 5)), b = try folder.write("b", second)
        #expect(try IdenticalFiles.sameContents(a, b) == (firstSize == secondSize && flipped == nil))
    }

    @Test("a copy gets the remembered encoding under its own name; a same-size file does not")
    func copyReusesEncoding() async throws {
        let folder = try Folder()
        defer { folder.remove() }
        let original = Self.bytes(400_000, seed: 1), other = Self.bytes(400_000, seed: 2)
        let a = try folder.write("a.png", original), copy = try folder.write("copy.png", original)
        let different = try folder.write("other.png", other)
        let files = IdenticalFiles()
        let prepared = try await Self.prepared(original, name: "a.png")
        files.remember(prepared, path: a, identity: try Self.identity(a))
        #expect(files.count == 1)

        let found = files.match(path: copy, identity: try Self.identity(copy), name: "copy.png")
        let match = try #require(found)
        #expect(match.name == "copy.png")
        #expect(match.encoded.fileTag == prepared.encoded.fileTag)
        #expect(match.chunkTags == prepared.chunkTags)
        #expect(files.match(path: different, identity: try Self.identity(different), name: "other.png") == nil)
    }

    @Test("a remembered file rewritten since (same size, same name) is not taken for what it held")
    func rewrittenFileIsNotTrusted() async throws {
        let folder = try Folder()
        defer { folder.remove() }
        let original = Self.bytes(200_000, seed: 3), rewritten = Self.bytes(200_000, seed: 4)
        let a = try folder.write("a.jpg", original)
        let files = IdenticalFiles()
        files.remember(try await Self.prepared(original, name: "a.jpg"), path: a, identity: try Self.identity(a))
        // Now `a` holds what `b` holds; comparing bytes alone would hand b the encoding of the old a.
        _ = try folder.write("a.jpg", rewritten, settled: false)
        let b = try folder.write("b.jpg", rewritten)
        #expect(files.match(path: b, identity: try Self.identity(b), name: "b.jpg") == nil)
    }

    @Test("a remembered file that vanished (or cannot be read) is no match, not an error")
    func vanishedFile() async throws {
        let folder = try Folder()
        defer { folder.remove() }
        let bytes = Self.bytes(50_000, seed: 8)
        let a = try folder.write("a", bytes), b = try folder.write("b", bytes)
        let files = IdenticalFiles()
        files.remember(try await Self.prepared(bytes, name: "a"), path: a, identity: try Self.identity(a))
        #expect(files.match(path: b, identity: try Self.identity(b), name: "b") != nil)
        try FileManager.default.removeItem(atPath: a)
        #expect(files.match(path: b, identity: try Self.identity(b), name: "b") == nil)
        #expect(throws: FileIOError.self) { try IdenticalFiles.sameContents(a, b) }
    }

    @Test("a file modified within the last seconds is not remembered; the oldest go past the capacity")
    func recentFilesAndCapacity() async throws {
        let folder = try Folder()
        defer { folder.remove() }
        let fresh = try folder.write("fresh", Self.bytes(1000, seed: 6), settled: false)
        let files = IdenticalFiles(capacityBytes: 250_000)
        files.remember(try await Self.prepared(Self.bytes(1000, seed: 6), name: "fresh"), path: fresh,
                       identity: try Self.identity(fresh))
        #expect(files.count == 0)
        for index in 0..<3 {
            let bytes = Self.bytes(100_000, seed: UInt8(10 + index))
            let path = try folder.write("f\(index)", bytes)
            files.remember(try await Self.prepared(bytes, name: "f\(index)"), path: path, identity: try Self.identity(path))
        }
        #expect(files.count == 2, "three files of ~100 kB ciphertext in 250 kB keep the last two")
        let first = try folder.write("copy-of-f0", Self.bytes(100_000, seed: 10))
        #expect(files.match(path: first, identity: try Self.identity(first), name: "x") == nil)
        let last = try folder.write("copy-of-f2", Self.bytes(100_000, seed: 12))
        #expect(files.match(path: last, identity: try Self.identity(last), name: "x") != nil)
    }
}
