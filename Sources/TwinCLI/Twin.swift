import ArgumentParser

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
        subcommands: [Serve.self, KeyServerCommand.self, Account.self, Upload.self, List.self, Get.self, Remove.self, Grant.self, Revoke.self, Rekey.self, Grants.self, Trust.self, Gallery.self,
                      Stats.self, Check.self, Scan.self, ABE.self, Vectors.self, Bench.self])

    static func main() async {
        #if canImport(Glibc)
        ProcessHeap.configure()
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
