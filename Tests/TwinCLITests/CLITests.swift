import Convergent
import Foundation
import Testing
import TwinStorage

/// Runs the built `twin` executable the way a user does and checks exit statuses and outputs.
struct TwinProcess {
    static let executable: URL = {
        // Test bundles live beside the products they depend on (.build/<triple>/<config>/).
        var directory = Bundle.main.bundleURL
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("twin").path),
              directory.path != "/" {
            directory.deleteLastPathComponent()
        }
        return directory.appendingPathComponent("twin")
    }()

    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
        let (status, stdout, stderr) = try runBytes(arguments, environment: environment)
        return (status, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }

    static func runBytes(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, stdout: Data, stderr: Data) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, given in given }
        }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, stdout, stderr)
    }
}

func temporaryDirectory() throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("twin-cli-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

@Suite("twin command line")
struct CLITests {
    @Test("twin abe: setup, keygen, encrypt, decrypt; exit 3 when the policy is not satisfied, 2 on tampering")
    func abeRoundTrip() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func path(_ name: String) -> String { (dir as NSString).appendingPathComponent(name) }
        #expect(try TwinProcess.run(["abe", "setup", "--out", path("auth")]).status == 0)
        let secret = Data("the file key K_M".utf8)
        try secret.write(to: URL(fileURLWithPath: path("plain")))
        #expect(try TwinProcess.run(["abe", "keygen", "--master", path("auth/master.key"),
                                     "--policy", "family or (friend and vacation)", "--out", path("friend.key")]).status == 0)
        #expect(try TwinProcess.run(["abe", "keygen", "--master", path("auth/master.key"),
                                     "--policy", "family", "--out", path("family.key")]).status == 0)
        #expect(try TwinProcess.run(["abe", "encrypt", "--public", path("auth/public.key"),
                                     "--attributes", "friend, vacation,2026", "--in", path("plain"), "--out", path("ct")]).status == 0)

        #expect(try TwinProcess.run(["abe", "decrypt", "--key", path("friend.key"), "--in", path("ct"), "--out", path("out")]).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path("out"))) == secret)

        let denied = try TwinProcess.run(["abe", "decrypt", "--key", path("family.key"), "--in", path("ct"), "--out", path("denied")])
        #expect(denied.status == 3)
        #expect(denied.stderr.contains("not satisfied"))
        #expect(!FileManager.default.fileExists(atPath: path("denied")))

        var tampered = try Data(contentsOf: URL(fileURLWithPath: path("ct")))
        tampered[tampered.count - 1] ^= 1
        try tampered.write(to: URL(fileURLWithPath: path("ct2")))
        let broken = try TwinProcess.run(["abe", "decrypt", "--key", path("friend.key"), "--in", path("ct2"), "--out", path("x")])
        #expect(broken.status == 2)
        #expect(!broken.stderr.isEmpty)

        let badPolicy = try TwinProcess.run(["abe", "keygen", "--master", path("auth/master.key"), "--policy", "a and (b", "--out", path("k")])
        #expect(badPolicy.status == 2)
        #expect(badPolicy.stderr.contains("character 9"))
    }

    @Test("twin scan --json prints exactly one JSON object with the documented keys")
    func scanJSON() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let bytes = Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7919 >> 3) })
        try bytes.write(to: URL(fileURLWithPath: (dir as NSString).appendingPathComponent("a.bin")))
        try bytes.write(to: URL(fileURLWithPath: (dir as NSString).appendingPathComponent("b.bin")))
        let result = try TwinProcess.run(["scan", dir, "--json"])
        #expect(result.status == 0)
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
        for key in ["files", "logical_bytes", "stored_bytes", "file_level_bytes", "chunks", "unique_chunks", "seconds"] {
            #expect(object[key] != nil, "missing \(key)")
        }
        #expect(object["files"] as? Int == 2)
        #expect(object["logical_bytes"] as? Int == 600_000)
        #expect(object["file_level_bytes"] as? Int == 300_000)
        #expect((object["stored_bytes"] as! Int) < 310_000)
    }
}

@Suite("twin check")
struct CheckCommandTests {
    @Test("twin check: exit 0 and JSON counts on a sound folder, 1 while damage remains, 0 after repairing an orphan")
    func checkExitStatus() async throws {
        let data = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: data) }
        let store = try await SQLiteMetadataStore.open(path: data + "/metadata.sqlite")
        let blobs = BlobStore(try FileSystemBlobBackend(root: data + "/blobs"))
        let bytes: [UInt8] = Array(repeating: 7, count: 9000)
        let tag = MerkleTree.root(of: bytes)
        try await blobs.put(tag, bytes)
        try await store.recordReceived([ChunkReference(tag: tag, size: bytes.count)], session: nil)
        try await store.close()

        var run = try TwinProcess.run(["check", "--json", "--data", data])
        #expect(run.status == 0, "\(run.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        for key in ["chunks", "blobs", "entries", "missing", "corrupt", "orphans", "repaired"] {
            #expect(report?[key] is Int, "\(key) in \(run.stdout)")
        }
        #expect(report?["chunks"] as? Int == 1 && report?["database"] as? String == "ok")

        let orphan: [UInt8] = Array(repeating: 9, count: 100)
        try await blobs.put(MerkleTree.root(of: orphan), orphan)
        run = try TwinProcess.run(["check", "--data", data])
        #expect(run.status == 1 && run.stdout.contains("orphan: "))
        run = try TwinProcess.run(["check", "--repair", "--data", data])
        #expect(run.status == 0, "\(run.stdout)")
        run = try TwinProcess.run(["check", "--data", data])
        #expect(run.status == 0)
        #expect(try TwinProcess.run(["check", "--data", data + "/nowhere"]).status != 0)
    }
}
