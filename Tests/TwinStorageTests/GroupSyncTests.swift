import Foundation
import Synchronization
import Testing
import TwinStorageConformance
@testable import TwinStorage

/// The group-commit protocol with a sync that the test holds open, so the interleavings are exact.
@Suite("Group sync of the write-ahead log")
struct GroupSyncTests {
    /// A sync that blocks until released, counting how often it ran.
    final class HeldSync: Sendable {
        private let state = Mutex<(runs: Int, released: Int, failNext: Bool)>((0, 0, false))
        var runs: Int { state.withLock { $0.runs } }

        func run() async throws {
            let (number, fail) = state.withLock { state -> (Int, Bool) in
                state.runs += 1
                defer { state.failNext = false }
                return (state.runs, state.failNext)
            }
            while state.withLock({ $0.released < number }) { try await Task.sleep(for: .milliseconds(1)) }
            if fail { throw SQLiteMetadataStoreError.syncFailed(path: "held", code: 5) }
        }

        func release() { state.withLock { $0.released += 1 } }
        func failNextRun() { state.withLock { $0.failNext = true } }
    }

    final class Counter: Sendable {
        private let count = Mutex(0)
        var value: Int { count.withLock { $0 } }
        func increment() { count.withLock { $0 += 1 } }
    }

    static func waitUntil(_ condition: () -> Bool) async throws {
        while !condition() { try await Task.sleep(for: .milliseconds(1)) }
    }

    @Test("callers arriving during a sync share the next one; none returns before a sync that started after it")
    func callersShareTheNextSync() async throws {
        let held = HeldSync()
        let group = GroupSync { try await held.run() }
        let finished = Counter()
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.sync(); finished.increment() }
            try await Self.waitUntil { held.runs == 1 }
            for _ in 0..<5 { tasks.addTask { try await group.sync(); finished.increment() } }
            try await Self.waitUntil { group.waitingCount == 6 }
            #expect(held.runs == 1, "the five later callers wait for the sync after the one in flight")
            held.release()
            try await Self.waitUntil { finished.value == 1 }
            try await Self.waitUntil { held.runs == 2 }
            #expect(finished.value == 1, "the first sync began before the others committed, so it does not serve them")
            held.release()
            try await tasks.waitForAll()
        }
        #expect(held.runs == 2, "six callers, two syncs")
        #expect(group.syncCount == 2)
        #expect(group.waitingCount == 0)
    }

    @Test("a failed sync fails exactly the callers it served; the next one starts afresh")
    func failurePropagates() async throws {
        let held = HeldSync()
        let group = GroupSync { try await held.run() }
        held.failNextRun()
        held.release()
        await #expect(throws: SQLiteMetadataStoreError.syncFailed(path: "held", code: 5)) { try await group.sync() }
        held.release()
        try await group.sync()
        #expect(held.runs == 2)
    }

    @Test("syncing a real file, and a missing one (nothing to sync)")
    func realFile() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/log"
        #expect(FileManager.default.createFile(atPath: path, contents: Data("frames".utf8)))
        try await GroupSync(syncingFileAt: path).sync()
        try await GroupSync(syncingFileAt: path + ".missing").sync()
    }
}
