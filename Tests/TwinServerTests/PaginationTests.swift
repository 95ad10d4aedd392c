import Convergent
import Foundation
import Testing
@testable import TwinClient
import TwinProtocol
import TwinStorage
import TwinStorageConformance

/// Listings page through large libraries: 100,000 entries come back in pages of at most 1,000,
/// each entry once and in order, with a prefix filter, and a grantee's pages skip what their
/// policy does not cover without ending early. At that size on the default store (SQLite); the
/// runs on the other stores use 10,000, as every store's paging is the conformance case
/// `entryPages`, and CI's time is bounded.
@Suite("Paged listings")
struct PaginationTests {
    static let count = TestStorage.current == .sqliteAndFolder ? 100_000 : 10_000

    @Test("100,000 entries: every page bounded, every entry once and in name order; prefixes and a grantee's policy filter")
    func hundredThousandEntries() async throws {
        try await LiveServer.run { server in
            let alice = try await server.user("alice"), bob = try await server.user("bob")
            let file = Fixture.file(1, chunks: [Fixture.chunk(1, size: 10)])
            try await server.store.record(file)
            // Folders of 1,000; every tenth entry is shared with "family".
            let names = (0..<Self.count).map { String(format: "f%03d/img%06d.jpg", $0 / 1000, $0) }
            for start in stride(from: 0, to: Self.count, by: 1000) {
                let slice = names[start..<(start + 1000)]
                let id = "bulk-\(start)"
                try await server.store.createUploadSession(UploadSessionRecord(
                    id: id, user: "alice", files: slice.map { _ in AnnouncedFile(fileTag: file.tag, chunks: file.chunks) }, missing: [],
                    received: [], challenge: nil, ownershipProven: true, expiresAt: Date().addingTimeInterval(3600)))
                try await server.store.commit(slice.enumerated().map { offset, name in
                    (Fixture.entry(owner: "alice", name: name, file: file, attributes: (start + offset) % 10 == 0 ? ["family"] : ["work"]), file)
                }, sessionID: id)
            }

            var listed: [String] = []
            var pages = 0
            try await alice.forEachEntryPage { page in
                #expect(page.count <= EntryListResponse.maximumPage)
                listed += page.map(\.name)
                pages += 1
            }
            #expect(listed == names, "every entry once, in order")
            #expect(pages >= Self.count / EntryListResponse.maximumPage)

            var folder: [String] = []
            let folderIndex = min(42, Self.count / 1000 - 1)
            try await alice.forEachEntryPage(prefix: String(format: "f%03d/", folderIndex), limit: 300) { folder += $0.map(\.name) }
            #expect(folder == Array(names[(folderIndex * 1000)..<((folderIndex + 1) * 1000)]))

            try await alice.grant("bob", policy: "family")
            var shared: [String] = []
            try await bob.forEachEntryPage(owner: "alice", prefix: "f00") { shared += $0.map(\.name) }
            #expect(shared == names[0..<10_000].enumerated().filter { $0.offset % 10 == 0 }.map(\.element))
            // Everything shared with bob, across owners, page by page.
            let everything = try await bob.shared()
            #expect(everything.map(\.name) == names.enumerated().filter { $0.offset % 10 == 0 }.map(\.element))
            let firstPage = try await bob.api.json(.GET, "/v1/shared?limit=7", as: EntryListResponse.self)
            #expect(firstPage.entries.count <= 7 && firstPage.next != nil && firstPage.next!.hasPrefix("alice/"))

            await expectCode("bad_request") { _ = try await alice.api.entryPage(owner: nil, prefix: "", after: nil, limit: 1001) }
            await expectCode("bad_request") { _ = try await alice.api.entryPage(owner: nil, prefix: "", after: nil, limit: 0) }
        }
    }
}
