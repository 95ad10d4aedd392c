import Foundation
import Testing
@testable import TwinClient
#if canImport(Glibc)
import Glibc
#endif

@Suite("EncodingThreads: encoders off the cooperative pool, niced")
struct EncodingThreadsTests {
    /// The name of the thread running the caller, and its nice value.
    static func currentThread() -> (name: String, nice: Int32) {
        let name = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? ""
        let nice = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        return (name.trimmingCharacters(in: .whitespacesAndNewlines), nice)
    }

    @Test("tasks that prefer the executor run on its threads, niced; the caller's thread is left as it was")
    func tasksRunOnOwnThreads() async throws {
        let threads = EncodingThreads(count: 2)
        let outside = Self.currentThread()
        let seen = try await withThrowingTaskGroup(of: (name: String, nice: Int32).self) { group in
            for _ in 0..<8 {
                group.addTask(executorPreference: threads) {
                    // Suspends once, so the task's second half is a job of its own on the executor.
                    await Task.yield()
                    return Self.currentThread()
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        await threads.shutdown()
        #expect(seen.count == 8)
        #expect(seen.allSatisfy { $0.name.hasPrefix("TP-#") }, "\(seen.map(\.name))")
        #expect(seen.allSatisfy { $0.nice == 10 })
        #expect(Self.currentThread().nice == outside.nice)
    }

    @Test("a task still finishes when it prefers threads that were shut down")
    func runsAfterShutdown() async {
        let threads = EncodingThreads(count: 1)
        await threads.shutdown()
        let value = await withTaskGroup(of: Int.self) { group in
            group.addTask(executorPreference: threads) { 6 * 7 }
            return await group.next()!
        }
        #expect(value == 42)
    }
}
