import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// Threads of their own for encoding files, outside Swift's cooperative pool, at a lower scheduling
/// priority than the rest of the process.
///
/// Encoding a file is milliseconds of CPU without a suspension point. On the cooperative pool (one
/// thread per core) the encoders would hold every thread that long, so each server answer would wait
/// for one before the sender saw it, the missing chunks a begin names would go up as late, and the
/// server's share of the work (checking and storing chunks) would pile up after the last file was
/// encoded. On these threads the kernel time-slices the encoders with everything else, and, niced,
/// they give way whenever the sender (or, on one host, the server) has something to do; the
/// encoders still get every cycle nobody else wants.
final class EncodingThreads: TaskExecutor {
    private let pool: NIOThreadPool

    init(count: Int) {
        pool = NIOThreadPool(numberOfThreads: max(1, count))
        pool.start()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        // A pool already shut down hands the item back at once (`.cancelled`): the job still runs, on
        // the caller's thread (left at its priority), as no task may be left suspended forever.
        pool.submit { state in
            if case .active = state { Self.lowerThreadPriority() }
            job.runSynchronously(on: executor)
        }
    }

    /// Stops the threads once the jobs queued so far are done.
    func shutdown() async {
        try? await pool.shutdownGracefully()
    }

    /// Nice 10 for the calling thread only (on Linux, `setpriority` with `PRIO_PROCESS` and 0 sets the
    /// calling thread's nice value). The pool runs no code of ours when its threads start, so it is
    /// set before each job: one system call per encoder slice, a few per file.
    private static func lowerThreadPriority() {
        #if canImport(Glibc)
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
        #endif
    }
}
