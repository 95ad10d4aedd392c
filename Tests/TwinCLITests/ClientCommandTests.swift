import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A `twin serve` process on a free loopback port, with its data in a temporary folder.
final class ServeProcess {
    let process = Process()
    let directory: String
    let port: Int
    var url: String { "http://127.0.0.1:\(port)" }

    init() throws {
        directory = try temporaryDirectory()
        port = Int.random(in: 20_000..<60_000)
        process.executableURL = TwinProcess.executable
        process.arguments = ["serve", "--data", (directory as NSString).appendingPathComponent("data"), "--port", "\(port)",
                             "--log-level", "warning"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        for _ in 0..<100 where !Self.accepts(port: port) { usleep(100_000) }
        guard Self.accepts(port: port) else { throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "twin serve did not start"]) }
    }

    static func accepts(port: Int) -> Bool {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    /// Runs `twin` as the user whose keyring lives in `home` (a folder under this server's).
    func twin(_ home: String, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try TwinProcess.run(arguments, environment: environment(home))
    }

    func environment(_ home: String) -> [String: String] {
        ["TWIN_HOME": (directory as NSString).appendingPathComponent(home), "TWIN_PASSPHRASE": "client-tests",
         "TWIN_KEYRING_SCRYPT_N": "16384"]
    }

    func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }

    deinit {
        process.terminate()
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// What a person does with the client, run as a person runs it: re-runs, downloads and mistakes.
@Suite("twin client commands", .serialized)
struct ClientCommandTests {
    @Test("a re-run of a 100-image folder sends under 1 % of its bytes and exits 0; a changed file is refused unless --replace")
    func rerunSendsAlmostNothing() throws {
        let server = try ServeProcess()
        #expect(try server.twin("alice", ["account", "create", "alice", "--server", server.url]).status == 0)
        let photos = server.path("photos")
        try FileManager.default.createDirectory(atPath: photos + "/2026/trip", withIntermediateDirectories: true)
        var generator = SystemRandomNumberGenerator()
        for index in 0..<100 {
            let bytes = (0..<(20_000 + index * 97)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            try Data(bytes).write(to: URL(fileURLWithPath: photos + (index < 50 ? "/2026/img\(index).jpg" : "/2026/trip/img\(index).jpg")))
        }
        func upload(_ extra: [String] = []) throws -> (status: Int32, report: [String: Any], stderr: String) {
            let run = try server.twin("alice", ["upload", photos + "/2026", "--json"] + extra)
            let report = (try? JSONSerialization.jsonObject(with: Data(run.stdout.utf8))) as? [String: Any] ?? [:]
            return (run.status, report, run.stderr)
        }
        let first = try upload()
        #expect(first.status == 0 && first.report["files"] as? Int == 100)
        let logical = try #require(first.report["logical_bytes"] as? Int)

        let again = try upload()
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.report["unchanged_files"] as? Int == 100)
        #expect(try #require(again.report["sent_bytes"] as? Int) * 100 < logical, "a re-run sends under 1 % of the folder's bytes")

        try Data("edited".utf8).write(to: URL(fileURLWithPath: photos + "/2026/trip/img60.jpg"))
        let changed = try upload()
        #expect(changed.status == 1 && changed.stderr.contains("--replace") && changed.stderr.contains("2026/trip/img60.jpg"))
        let replaced = try upload(["--replace"])
        #expect(replaced.status == 0 && replaced.report["replaced_files"] as? Int == 1 && replaced.report["unchanged_files"] as? Int == 99)

        // Folders come back as folders; one entry goes to standard output.
        let listing = try server.twin("alice", ["ls", "2026/trip/"])
        #expect(listing.stdout.split(separator: "\n").count == 50)
        let out = server.path("restored")
        #expect(try server.twin("alice", ["get", "2026/", "-o", out]).status == 0)
        for index in [0, 49, 75] {
            let name = index < 50 ? "/2026/img\(index).jpg" : "/2026/trip/img\(index).jpg"
            #expect(FileManager.default.contentsEqual(atPath: out + name, andPath: photos + name), "\(name)")
        }
        let piped = try TwinProcess.runBytes(["get", "2026/trip/img60.jpg", "-o", "-"], environment: server.environment("alice"))
        #expect(piped.status == 0 && piped.stdout == Data("edited".utf8))
        #expect(try server.twin("alice", ["get", "--all", "-o", server.path("everything")]).status == 0)
        #expect(FileManager.default.contentsEqual(atPath: server.path("everything/2026/img7.jpg"), andPath: photos + "/2026/img7.jpg"))
    }

    @Test("copies of an image in one run share one thumbnail: the image is decoded once")
    func thumbnailsOfCopies() throws {
        let server = try ServeProcess()
        #expect(try server.twin("alice", ["account", "create", "alice", "--server", server.url]).status == 0)
        let sample = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../docs/sample/beach.jpg")
        let photos = server.path("copies")
        try FileManager.default.createDirectory(atPath: photos, withIntermediateDirectories: true)
        let bytes = try Data(contentsOf: sample)
        var other = bytes
        other.append(contentsOf: [0xFF, 0xD9])   // after the image's end: trailers count as another picture
        // A comment segment after SOI: another file, the same picture (the decoder skips comments).
        let comment: [UInt8] = [0xFF, 0xFE, 0x00, 0x0B] + Array("re-shared".utf8)
        let edited = Data(bytes.prefix(2) + comment + bytes.dropFirst(2))
        let names = ["a", "b", "c", "e", "f", "g"].map { ($0 + ".jpg", bytes) } + [("d.jpg", other), ("h.jpg", edited)]
        for (name, data) in names {
            let path = photos + "/" + name
            try data.write(to: URL(fileURLWithPath: path))
            // Settled an hour ago: files written in the last two seconds are never taken for copies.
            try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-3600)], ofItemAtPath: path)
        }
        let run = try server.twin("alice", ["upload", photos, "--json"])
        let report = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], "\(run.stderr)")
        #expect(report["files"] as? Int == 8 && report["thumbnails"] as? Int == 8)
        // Thumbnails are made on one thread per core: a copy met while the first is still being
        // decoded is decoded too, so the six copies and the edited one take one decode per thread
        // at most, and the other picture one.
        let decoded = try #require(report["thumbnails_decoded"] as? Int)
        let threads = min(6, ProcessInfo.processInfo.activeProcessorCount)
        #expect((2...(1 + threads)).contains(decoded), "seven copies and one other picture took \(decoded) decodes on \(threads) threads")
        // Every entry has its thumbnail, the copies' (and the same picture's) equal to the first's.
        let thumbnails = try ["a", "b", "c", "d", "e", "f", "g", "h"].map {
            try TwinProcess.runBytes(["get", ".thumbnails/copies/\($0).jpg", "-o", "-"], environment: server.environment("alice"))
        }
        #expect(thumbnails.allSatisfy { $0.status == 0 && !$0.stdout.isEmpty && $0.stdout == thumbnails[0].stdout })
    }

    @Test("common mistakes get one line naming the cause and the fix, and a failing exit status, never a backtrace")
    func mistakesAreExplained() throws {
        let server = try ServeProcess()
        func expectOneLine(_ run: (status: Int32, stdout: String, stderr: String), _ phrases: [String],
                           sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(run.status != 0, sourceLocation: sourceLocation)
            #expect(run.stderr.split(separator: "\n").count == 1, "\(run.stderr)", sourceLocation: sourceLocation)
            for phrase in phrases { #expect(run.stderr.contains(phrase), "\(run.stderr)", sourceLocation: sourceLocation) }
            #expect(!run.stderr.contains("Fatal error") && !run.stderr.contains("Stack dump"), sourceLocation: sourceLocation)
        }
        expectOneLine(try server.twin("nobody", ["ls"]), ["no keyring", "twin account create"])
        expectOneLine(try server.twin("alice", ["account", "create", "alice", "--server", "127.0.0.1:\(server.port)"]),
                      ["not a server URL", "http://HOST:PORT"])
        expectOneLine(try server.twin("alice", ["account", "create", "alice", "--server", "http://127.0.0.1:1"]),
                      ["cannot reach http://127.0.0.1:1", "twin serve"])
        #expect(try server.twin("alice", ["account", "create", "alice", "--server", server.url]).status == 0)
        #expect(try server.twin("bob", ["account", "create", "bob", "--server", server.url]).status == 0)
        expectOneLine(try server.twin("alice", ["ls", "--server", "http://127.0.0.1:1"]), ["cannot reach", "twin serve"])
        expectOneLine(try server.twin("alice", ["grant", "carol", "--policy", "family"]), ["no user 'carol'"])
        expectOneLine(try server.twin("alice", ["grant", "bob", "--policy", "family and ("]), ["policy", "character"])
        expectOneLine(try server.twin("alice", ["get", "beach.jpg"]), ["no entry 'beach.jpg'", "twin ls"])
        expectOneLine(try server.twin("bob", ["get", "alice/beach.jpg"]), ["alice", "twin ls --shared"])
        expectOneLine(try server.twin("alice", ["upload", server.path("missing.jpg")]), ["no such file or folder", "missing.jpg"])
        expectOneLine(try server.twin("alice", ["revoke", "bob"]), ["no grant to bob", "twin grants"])

        // -o naming a folder puts the entry inside it; -o - writes standard output.
        let image = server.path("beach.jpg")
        try Data(repeating: 7, count: 5000).write(to: URL(fileURLWithPath: image))
        #expect(try server.twin("alice", ["upload", image]).status == 0)
        let folder = server.path("downloads")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        #expect(try server.twin("alice", ["get", "beach.jpg", "-o", folder]).status == 0)
        #expect(FileManager.default.contentsEqual(atPath: folder + "/beach.jpg", andPath: image))
        #expect(try TwinProcess.runBytes(["get", "beach.jpg", "-o", "-"], environment: server.environment("alice")).stdout
                == Data(repeating: 7, count: 5000))
    }
}
