import ArgumentParser
import Convergent
import Foundation
import TwinClient
import TwinProtocol

/// The client commands: accounts, upload, listing, download, deletion, sharing, statistics.
struct Account: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "account", abstract: "Manage this machine's TwinStore identity.",
                                                    subcommands: [Create.self, Fingerprint.self, Export.self, Import.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "create", abstract: "Create an identity and register it with a server.")
        @Argument(help: "User name (letters, digits, _ . -).") var name: String
        @Option(help: "Server URL, e.g. http://127.0.0.1:8080.") var server: String

        func run() async throws {
            try await clientErrors {
                let session = try await TwinSession.createAccount(user: name, server: server)
                print("created \(session.keyring.user) on \(server); keyring in \(Keyring.home.path)")
            }
        }
    }

    struct Fingerprint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "fingerprint", abstract: "Print your fingerprint, or USER's as the server offers it and as pinned here.")
        @OptionGroup var node: NodeOption
        @Argument(help: "Another user (default: you).") var user: String?

        func run() async throws {
            try await clientErrors {
                let session = try await TwinSession.open(server: node.url)
                let name = user ?? session.keyring.user
                let (offered, pinned) = try await session.fingerprint(of: name)
                print("\(name)\t\(offered.fingerprint)")
                if name != session.keyring.user {
                    switch pinned {
                    case nil: print("not pinned yet: compare with \(name) out of band, then 'twin trust \(name) FINGERPRINT'")
                    case offered?: print("pinned: matches")
                    case let other?: print("PINNED KEY DIFFERS: \(other.fingerprint)")
                    }
                }
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "export", abstract: "Back up the keyring (still sealed under its passphrase) to FILE.")
        @Argument var file: String

        func run() async throws {
            try await clientErrors {
                try Keyring.export(to: URL(fileURLWithPath: file))
                print("exported the keyring to \(file) (sealed under its passphrase; keep both)")
            }
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "import", abstract: "Restore a keyring exported with 'account export' into TWIN_HOME.")
        @Argument var file: String

        func run() async throws {
            try await clientErrors {
                let keyring = try Keyring.restore(from: URL(fileURLWithPath: file))
                print("restored \(keyring.user) on \(keyring.server) into \(Keyring.home.path)")
            }
        }
    }
}

struct Trust: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trust", abstract: "Pin USER's keys after checking their FINGERPRINT out of band (replaces an earlier pin).")
    @OptionGroup var node: NodeOption
    @Argument var user: String
    @Argument(help: "The fingerprint USER read to you (spaces optional).") var fingerprint: [String]

    func run() async throws {
        try await clientErrors {
            let keys = try await TwinSession.open(server: node.url).trust(user, fingerprint: fingerprint.joined())
            print("pinned \(user): \(keys.fingerprint)")
        }
    }
}

struct Upload: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "upload", abstract: "Upload files or folders (deduplicated, encrypted on this machine).")
    @OptionGroup var node: NodeOption
    @Argument(help: "Files or folders (walked recursively, in name order).") var paths: [String]
    @Option(help: "Comma-separated attributes the entries are shared under, e.g. family,vacation.") var attributes = ""
    @Option(help: "Entry name (only with a single file; default: the file's base name).") var name: String?
    @Option(help: "Files encoded at once.") var parallel = 4
    @Flag(help: "Print one JSON object and nothing else.") var json = false

    func run() async throws {
        try await clientErrors {
            let files = try FileWalker.files(under: paths)
            if name != nil, files.count != 1 { throw ValidationError("--name needs exactly one file") }
            let attributeList = attributes.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            let session = try await TwinSession.open(server: node.url)
            let start = BenchClock.now()
            let progress = ProgressLine(enabled: !json)
            var totals = (files: 0, logical: 0, sent: 0, deduplicated: 0, proof: 0)
            let items = files.map { TwinSession.UploadItem(path: $0, name: name ?? ($0 as NSString).lastPathComponent) }
            try await session.upload(items, attributes: attributeList, width: parallel) { result in
                totals.files += 1
                totals.logical += result.logicalBytes
                totals.sent += result.sentBytes
                totals.deduplicated += result.deduplicatedBytes
                totals.proof += result.proofBytes
                progress.update("\(totals.files)/\(files.count) files, \(ByteCount(totals.logical)) read, \(ByteCount(totals.sent)) sent, \(ByteCount(totals.deduplicated)) saved by dedup")
            }
            progress.finish()
            let seconds = Double(BenchClock.now() - start) / 1e9
            if json {
                printJSON(["files": totals.files, "logical_bytes": totals.logical, "sent_bytes": totals.sent,
                           "deduplicated_bytes": totals.deduplicated, "proof_bytes": totals.proof, "seconds": rounded(seconds, 3),
                           "key_evaluations": session.keyEvaluations.evaluations, "key_requests": session.keyEvaluations.requests])
            } else {
                print("uploaded \(totals.files) files: \(ByteCount(totals.logical)), sent \(ByteCount(totals.sent)), \(ByteCount(totals.deduplicated)) deduplicated, in \(String(format: "%.2f", seconds)) s")
            }
        }
    }
}

struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List your entries, or those shared with you.")
    @OptionGroup var node: NodeOption
    @Flag(help: "Entries other owners shared with you.") var shared = false
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await clientErrors {
            let session = try await TwinSession.open(server: node.url)
            let entries = shared ? try await session.shared() : try await session.entries()
            if json {
                let data = try TwinProtocol.makeEncoder().encode(EntryListResponse(entries: entries))
                print(String(decoding: data, as: UTF8.self))
            } else {
                for entry in entries {
                    let name = shared ? "\(entry.owner)/\(entry.name)" : entry.name
                    print("\(name)\t\(entry.size)\t\(entry.mediaType)\t\(entry.attributes.joined(separator: ","))")
                }
            }
        }
    }
}

struct Get: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "get", abstract: "Download and decrypt NAME or OWNER/NAME (verifies everything; writes atomically).")
    @OptionGroup var node: NodeOption
    @Argument(help: "NAME (yours) or OWNER/NAME (shared with you).") var entry: String
    @Option(name: .shortAndLong, help: "Output path (default: the entry name).") var output: String?

    func run() async throws {
        try await clientErrors {
            let parts = entry.split(separator: "/", maxSplits: 1).map(String.init)
            let (owner, name) = parts.count == 2 ? (Optional(parts[0]), parts[1]) : (nil, entry)
            let session = try await TwinSession.open(server: node.url)
            let entry = try await session.get(owner: owner, name: name, destination: output ?? name)
            FileHandle.standardError.write(Data("wrote \(output ?? name) (\(entry.size) bytes, verified)\n".utf8))
        }
    }
}

struct Remove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Delete one of your entries.")
    @OptionGroup var node: NodeOption
    @Argument var name: String

    func run() async throws {
        try await clientErrors { try await TwinSession.open(server: node.url).delete(name: name) }
    }
}

struct Grant: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "grant", abstract: "Give USER a key for your entries whose attributes satisfy a policy.")
    @OptionGroup var node: NodeOption
    @Argument var user: String
    @Option(help: "Access policy, e.g. 'family or (friend and vacation)'.") var policy: String

    func run() async throws {
        try await clientErrors { try await TwinSession.open(server: node.url).grant(user, policy: policy) }
    }
}

struct Revoke: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Withdraw USER's grant and re-key: your entries it could read get fresh wraps, other grantees fresh keys.",
        discussion: "USER's saved key opens none of the new wraps. Nothing is uploaded again. A run cut short is finished by 'twin rekey'.")
    @OptionGroup var node: NodeOption
    @Argument var user: String
    @Flag(help: "Print one JSON object.") var json = false

    func run() async throws {
        try await clientErrors {
            var session = try await TwinSession.open(server: node.url)
            printReport(try await session.revoke(user, saveKeyring: Keyring.saveAttributeVersions), json: json)
        }
    }
}

struct Rekey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rekey",
        abstract: "Bring your entries' wraps and issued grants to your keyring's attribute versions (after a revoke cut short, or on another copy of the keyring).")
    @OptionGroup var node: NodeOption
    @Flag(help: "Print one JSON object.") var json = false

    func run() async throws {
        try await clientErrors {
            var session = try await TwinSession.open(server: node.url)
            printReport(try await session.rekey(saveKeyring: Keyring.saveAttributeVersions), json: json)
        }
    }
}

private func printReport(_ report: TwinSession.RevocationReport, json: Bool) {
    if json {
        printJSON(["revoked": report.revoked, "raised": report.raised, "rewrapped": report.rewrapped,
                   "regranted": report.regranted, "unsealed": report.unsealed])
        return
    }
    if let revoked = report.revoked { print("revoked \(revoked)") }
    if !report.raised.isEmpty {
        print("raised " + report.raised.sorted { $0.key < $1.key }.map { "\($0.key) to version \($0.value)" }.joined(separator: ", "))
    }
    print("re-wrapped \(report.rewrapped) entries; re-issued grants to \(report.regranted.isEmpty ? "nobody" : report.regranted.joined(separator: ", "))")
    if !report.unsealed.isEmpty {
        FileHandle.standardError.write(Data("twin: left \(report.unsealed.count) entries alone whose seal is not yours: \(report.unsealed.prefix(5).joined(separator: ", "))\n".utf8))
    }
}

struct Grants: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "grants", abstract: "List the grants you issued and the grants you received.")
    @OptionGroup var node: NodeOption
    @Flag(help: "Print one JSON object.") var json = false

    func run() async throws {
        try await clientErrors {
            let session = try await TwinSession.open(server: node.url)
            let issued = try await session.issuedGrants(), received = try await session.receivedGrants()
            if json {
                let rows = { (grants: [GrantResponse]) in
                    grants.map { ["owner": $0.owner, "grantee": $0.grantee, "policy": $0.policy,
                                  "created_at": ISO8601DateFormatter().string(from: $0.createdAt)] }
                }
                printJSON(["issued": rows(issued), "received": rows(received)])
                return
            }
            print("issued:" + (issued.isEmpty ? " none" : ""))
            for grant in issued { print("  to \(grant.grantee): \(grant.policy)") }
            print("received:" + (received.isEmpty ? " none" : ""))
            for grant in received { print("  from \(grant.owner): \(grant.policy)") }
        }
    }
}

struct Stats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stats", abstract: "Server-wide storage statistics.")
    @OptionGroup var node: NodeOption
    @Flag(help: "Print one JSON object.") var json = false

    func run() async throws {
        try await clientErrors {
            let stats = try await TwinSession.open(server: node.url).stats()
            if json {
                printJSON(["users": stats.users, "files": stats.files, "entries": stats.entries, "chunks": stats.chunks,
                           "logical_bytes": stats.logicalBytes, "stored_bytes": stats.storedBytes,
                           "dedup_ratio": rounded(stats.dedupRatio, 3)])
            } else {
                print("users \(stats.users), entries \(stats.entries), files \(stats.files), chunks \(stats.chunks)")
                print("logical \(ByteCount(stats.logicalBytes)), stored \(ByteCount(stats.storedBytes)), dedup ratio \(String(format: "%.2f", stats.dedupRatio))")
            }
        }
    }
}

/// Client failures: a one-line message and exit status 1 (3 for access denied, as `twin abe` uses).
func clientErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as TwinClientError {
        FileHandle.standardError.write(Data("twin: \(error)\n".utf8))
        if case .accessDenied = error { throw ExitCode(3) }
        throw ExitCode(1)
    } catch let error as ValidationError {
        throw error
    } catch {
        FileHandle.standardError.write(Data("twin: \(error)\n".utf8))
        throw ExitCode(1)
    }
}

/// `--server URL` (or `TWIN_SERVER`): talk to this node instead of the one the account was made
/// on, for any node serving the same store.
struct NodeOption: ParsableArguments {
    @Option(name: .customLong("server"), help: "Server URL to use instead of the account's (default: $TWIN_SERVER).")
    var server: String?

    var url: String? { server ?? ProcessInfo.processInfo.environment["TWIN_SERVER"].flatMap { $0.isEmpty ? nil : $0 } }
}
