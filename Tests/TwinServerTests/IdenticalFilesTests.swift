import Convergent
import Foundation
import Testing
@testable import TwinClient

@Suite("IdenticalFiles in an upload run")
struct IdenticalFilesUploadTests {
    @Test("copies under other names and a same-size file each download as their own bytes")
    func copiesRoundTrip() async throws {
        try await LiveServer.run { server in
            let alice = try await server.user("alice")
            let original = jpegImage(seed: "copies", exif: "camera")
            var sameSize = original
            sameSize[sameSize.count / 2] ^= 0x55
            var items: [TwinSession.UploadItem] = []
            for (name, bytes) in [("a.jpg", original), ("b.jpg", sameSize), ("c.jpg", original), ("d.jpg", original)] {
                let path = try server.file(name, bytes)
                try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-60)], ofItemAtPath: path)
                items.append(TwinSession.UploadItem(path: path, name: name))
            }
            var results: [TwinSession.UploadResult] = []
            try await alice.upload(items, attributes: [], width: 1, batching: UploadBatching(maximumFiles: 1)) { results.append($0) }
            #expect(results.map(\.name) == ["a.jpg", "b.jpg", "c.jpg", "d.jpg"])
            #expect(alice.identicalFiles.count == 2, "a.jpg and b.jpg encoded; c.jpg and d.jpg reuse a.jpg")
            #expect(results[2].fileExisted && results[3].fileExisted)
            for (name, bytes) in [("a.jpg", original), ("b.jpg", sameSize), ("c.jpg", original), ("d.jpg", original)] {
                let destination = server.directory.appendingPathComponent("out-" + name).path
                _ = try await alice.get(owner: nil, name: name, destination: destination)
                #expect(try server.read(destination) == bytes, "\(name)")
            }
        }
    }
}
