import Foundation
import Synchronization
import Testing
@testable import TwinClient

@Suite("PreparedQueue: encoded files handed to the sender")
struct PreparedQueueTests {
    static func file(_ index: Int) async throws -> TwinSession.PreparedUpload {
        try await IdenticalFilesTests.prepared(IdenticalFilesTests.bytes(1000 + index, seed: UInt8(index)), name: "f\(index)")
    }

    @Test("files ready behind one still encoding go first, lowest index first, within the batch limit")
    func readyFilesGoFirst() async throws {
        let queue = PreparedQueue(count: 4, lookahead: 4)
        try await queue.waitForRoom(3)
        await queue.put(3, try await Self.file(3))
        await queue.put(1, try await Self.file(1))
        await queue.put(2, try await Self.file(2))
        let first = try await queue.take(maximumFiles: 2, maximumBytes: 1 << 20)
        #expect(first.map(\.index) == [1, 2])
        #expect(first.map(\.prepared.name) == ["f1", "f2"])
        await queue.put(0, try await Self.file(0))
        let second = try await queue.take(maximumFiles: 8, maximumBytes: 1 << 20)
        #expect(second.map(\.index) == [0, 3])
        #expect(try await queue.take(maximumFiles: 8, maximumBytes: 1 << 20).isEmpty)
    }

    @Test("an encoder waits while its file is lookahead or more past the first file not taken")
    func lookaheadCountsFromFirstUntaken() async throws {
        let queue = PreparedQueue(count: 3, lookahead: 2)
        await queue.put(1, try await Self.file(1))
        // File 0 is not taken (not even ready), so file 2 must wait; taking file 1 does not help.
        let admitted = Mutex(false)
        let waiting = Task {
            try await queue.waitForRoom(2)
            admitted.withLock { $0 = true }
        }
        #expect(try await queue.take(maximumFiles: 8, maximumBytes: 1 << 20).map(\.index) == [1])
        for _ in 0..<100 { await Task.yield() }
        #expect(!admitted.withLock { $0 })
        await queue.put(0, try await Self.file(0))
        #expect(try await queue.take(maximumFiles: 8, maximumBytes: 1 << 20).map(\.index) == [0])
        try await waiting.value
        #expect(admitted.withLock { $0 })
    }

    @Test("a batch waits for its minimum while files are still to come, not when none are or bytes are full")
    func minimumWaitsOnlyForFilesToCome() async throws {
        let queue = PreparedQueue(count: 5, lookahead: 5)
        await queue.put(0, try await Self.file(0))
        await queue.put(1, try await Self.file(1))
        let sender = Task { try await queue.take(maximumFiles: 8, maximumBytes: 1 << 20, minimumFiles: 3) }
        var waited = false
        for _ in 0..<10_000 where !waited {
            await Task.yield()
            waited = await queue.senderIsWaiting
        }
        #expect(waited, "two ready files, three wanted, three still to come: the sender must wait")
        await queue.put(2, try await Self.file(2))
        #expect(try await sender.value.map(\.index) == [0, 1, 2])
        // Enough bytes ready count as a full batch: one file of over 1,000 ciphertext bytes fills a 1,000-byte budget.
        await queue.put(3, try await Self.file(3))
        #expect(try await queue.take(maximumFiles: 8, maximumBytes: 1000, minimumFiles: 3).map(\.index) == [3])
        // Nothing more to come: the last file goes alone.
        await queue.put(4, try await Self.file(4))
        #expect(try await queue.take(maximumFiles: 8, maximumBytes: 1 << 20, minimumFiles: 3).map(\.index) == [4])
        #expect(try await queue.take(maximumFiles: 8, maximumBytes: 1 << 20, minimumFiles: 3).isEmpty)
    }

    @Test("a batch's minimum is kept within the batch size and the lookahead")
    func minimumIsBounded() {
        #expect(UploadBatching(maximumFiles: 4, minimumFiles: 8).minimumFiles == 4)
        #expect(UploadBatching(minimumFiles: 8, lookahead: 2).minimumFiles == 2)
        #expect(UploadBatching(minimumFiles: 0).minimumFiles == 1)
        #expect(UploadBatching().minimumFiles == 8)
    }

    @Test("a failure wakes a waiting sender, which throws it")
    func failureWakesSender() async throws {
        struct Broken: Error {}
        let queue = PreparedQueue(count: 2, lookahead: 2)
        let sender = Task { try await queue.take(maximumFiles: 8, maximumBytes: 1 << 20) }
        await queue.fail(Broken())
        await #expect(throws: Broken.self) { _ = try await sender.value }
    }
}
