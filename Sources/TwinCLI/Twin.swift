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
        subcommands: [Scan.self, Bench.self])
}
