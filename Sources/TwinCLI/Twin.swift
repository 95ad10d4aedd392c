import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

/// # TwinCLI
///
/// The `twin` command: one tool for everything TwinStore does. Each subcommand is a thin shell over
/// a library module (Convergent for `scan`, BLS12381 for `vectors`, and so on); the only logic here
/// is argument handling, output formatting and benchmarks.
@main
struct Twin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "twin",
        abstract: "TwinStore: an encrypted, deduplicating image store.",
        subcommands: [Serve.self, Account.self, Upload.self, List.self, Get.self, Remove.self, Grant.self, Revoke.self,
                      Stats.self, Scan.self, ABE.self, Vectors.self, Bench.self])

    static func main() async {
        #if canImport(Glibc)
        // Chunks and ciphertexts are up to 512 KiB, above glibc's default mmap threshold: each would be
        // mapped and unmapped, page-faulting and zeroing fresh pages (8 % of pipeline time), and the
        // page faults serialise threads on the address-space lock. Keep them on the heap, and keep
        // freed heap instead of trimming it back to the kernel after every chunk.
        _ = glibcMallopt(-3 /* M_MMAP_THRESHOLD, malloc.h */, 64 << 20)
        _ = glibcMallopt(-1 /* M_TRIM_THRESHOLD, malloc.h */, 256 << 20)
        #endif
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

#if canImport(Glibc)
// malloc.h is not part of Swift's Glibc module map.
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif
