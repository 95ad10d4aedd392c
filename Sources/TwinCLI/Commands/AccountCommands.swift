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
    static let configuration = CommandConfiguration(
        commandName: "upload", abstract: "Upload files or folders (deduplicated, encrypted on this machine).",
        discussion: """
            A folder's files keep their path from its parent in their names (twin upload trip: trip/img1.jpg). Running it \
            again skips files whose entry holds the same content and sends nothing for them; a file changed since its \
            upload is refused unless --replace is given.
            """)
    @OptionGroup var node: NodeOption
    @Argument(help: "Files or folders (walked recursively, in name order).") var paths: [String]
    @Option(help: "Comma-separated attributes the entries are shared under, e.g. family,vacation.") var attributes = ""
    @Option(help: "Entry name (only with a single file; default: the file's base name).") var name: String?
    @Option(help: "Files encoded at once.") var parallel = 4
    @Flag(help: "Replace entries whose file changed since they were uploaded.") var replace = false
    @Flag(help: "Make no thumbnails (a gallery makes them when it first shows the images).") var noThumbnails = false
    @Flag(help: "Print one JSON object and nothing else.") var json = false

    func run() async throws {
        try await clientErrors {
            var files = try FileWalker.uploads(under: paths)
            if let name {
                guard files.count == 1 else { throw ValidationError("--name needs exactly one file") }
                files[0].name = name
            }
            if let invalid = files.first(where: { !TwinProtocol.isValidName($0.name) }) {
                throw TwinClientError.invalidArgument("'\(invalid.name)' (from \(invalid.path)) cannot be an entry name: "
                    + "no part of it may start with a dot or hold control characters; rename the file or give --name")
            }
            var seen: [String: String] = [:]
            for file in files {
                if let other = seen.updateValue(file.path, forKey: file.name) {
                    throw TwinClientError.invalidArgument("\(other) and \(file.path) would both be named '\(file.name)': upload them in separate runs, or one with --name")
                }
            }
            let attributeList = attributes.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            let session = try await TwinSession.open(server: node.url)
            let start = BenchClock.now()
            // Each JPEG or PNG is followed by its thumbnail, made from the same bytes on this machine.
            var items: [TwinSession.UploadItem] = []
            for file in files {
                items.append(TwinSession.UploadItem(path: file.path, name: file.name))
                if !noThumbnails, let header = try? FileHandle(forReadingFrom: URL(fileURLWithPath: file.path)).read(upToCount: 8),
                   Thumbnail.canMake(fromHeader: header) {
                    items.append(TwinSession.UploadItem(path: file.path, name: Thumbnail.name(for: file.name), thumbnail: true))
                }
            }
            let existing = try await Self.existingEntries(named: Set(items.map(\.name)), session: session)
            let totalBytes = files.reduce(0) { $0 + ((try? FileManager.default.attributesOfItem(atPath: $1.path)[.size] as? Int) ?? 0) }
            var progress = TransferProgress(enabled: !json, files: files.count, bytes: totalBytes)
            var totals = (files: 0, logical: 0, sent: 0, deduplicated: 0, proof: 0)
            var thumbnails = (count: 0, sent: 0)
            var outcomes: [TwinSession.UploadResult.Outcome: Int] = [:]
            var refused: [String] = []
            try await session.upload(items, attributes: attributeList, width: parallel, existing: existing, replace: replace) { result in
                if Thumbnail.isThumbnail(result.name) {
                    thumbnails.count += 1
                    thumbnails.sent += result.sentBytes
                    totals.sent += result.sentBytes
                    return
                }
                totals.files += 1
                totals.logical += result.logicalBytes
                totals.sent += result.sentBytes
                totals.deduplicated += result.deduplicatedBytes
                totals.proof += result.proofBytes
                outcomes[result.outcome, default: 0] += 1
                if result.outcome == .refused { refused.append(result.name) }
                progress.advance(bytes: result.logicalBytes, detail: "\(ByteCount(totals.sent)) sent")
            }
            progress.finish()
            let seconds = Double(BenchClock.now() - start) / 1e9
            if json {
                printJSON(["files": totals.files, "logical_bytes": totals.logical, "sent_bytes": totals.sent,
                           "deduplicated_bytes": totals.deduplicated, "proof_bytes": totals.proof, "seconds": rounded(seconds, 3),
                           "key_evaluations": session.keyEvaluations.evaluations, "key_requests": session.keyEvaluations.requests,
                           "unchanged_files": outcomes[.unchanged] ?? 0, "replaced_files": outcomes[.replaced] ?? 0,
                           "refused_files": outcomes[.refused] ?? 0, "thumbnails": thumbnails.count, "thumbnail_sent_bytes": thumbnails.sent,
                           "thumbnails_decoded": session.decodedThumbnails])
            } else {
                var parts = ["uploaded \(outcomes[.uploaded] ?? 0) files"]
                if let unchanged = outcomes[.unchanged] { parts.append("\(unchanged) unchanged") }
                if let replaced = outcomes[.replaced] { parts.append("\(replaced) replaced") }
                print(parts.joined(separator: ", ") + ": \(ByteCount(totals.logical)), sent \(ByteCount(totals.sent)), "
                      + "\(ByteCount(totals.deduplicated)) deduplicated, in \(String(format: "%.2f", seconds)) s")
            }
            if !refused.isEmpty {
                throw TwinClientError.invalidArgument("\(refused.count) files changed since they were uploaded and were left as they are "
                    + "(\(refused.prefix(3).joined(separator: ", "))\(refused.count > 3 ? ", …" : "")): run again with --replace to replace them")
            }
        }
    }

    /// The file tags of the own entries among `names`, read from the listings of their top folders
    /// (a thumbnail's: its image's top folder under `.thumbnails/`; everything, when a name has no folder).
    static func existingEntries(named names: Set<String>, session: TwinSession) async throws -> [String: Tag] {
        let folders = Set(names.map { name in
            let (base, rest) = Thumbnail.isThumbnail(name) ? (Thumbnail.prefix, name.dropFirst(Thumbnail.prefix.count)) : ("", name[...])
            return rest.firstIndex(of: "/").map { base + rest[...$0] } ?? ""
        })
        let prefixes = folders.contains("") ? [""] : folders.sorted()
        var existing: [String: Tag] = [:]
        for prefix in prefixes {
            try await session.forEachEntryPage(prefix: prefix) { page in
                for entry in page where names.contains(entry.name) { existing[entry.name] = entry.fileTag }
            }
        }
        return existing
    }
}

struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List your entries, or those shared with you.")
    @OptionGroup var node: NodeOption
    @Argument(help: "Only names starting with this (a folder: trip/).") var prefix = ""
    @Flag(help: "Entries other owners shared with you.") var shared = false
    @Option(help: "Entries another owner shared with you (their name).") var from: String?
    @Flag(help: "Print JSON (one object per page, one per line).") var json = false

    func run() async throws {
        try await clientErrors {
            let session = try await TwinSession.open(server: node.url)
            var owners: [String?] = [from]
            if shared, from == nil { owners = Array(Set(try await session.receivedGrants().map(\.owner))).sorted() }
            for owner in owners {
                try await session.forEachEntryPage(owner: owner, prefix: prefix) { entries in
                    if json {
                        let data = try TwinProtocol.makeEncoder().encode(EntryListResponse(entries: entries))
                        print(String(decoding: data, as: UTF8.self))
                        return
                    }
                    for entry in entries where !Thumbnail.isThumbnail(entry.name) {
                        let name = owner == nil ? entry.name : "\(entry.owner)/\(entry.name)"
                        print("\(name)\t\(entry.size)\t\(entry.mediaType)\t\(entry.attributes.joined(separator: ","))")
                    }
                }
            }
        }
    }
}

struct Get: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get", abstract: "Download and decrypt entries (verifies everything; writes atomically).",
        discussion: """
            NAME is one of yours, or OWNER/NAME one shared with you (when you have no entry of that name). A NAME \
            ending in / is a folder: every entry under it. Several entries go into the folder -o names (default: \
            here), keeping their folders; -o - writes a single entry to standard output.
            """)
    @OptionGroup var node: NodeOption
    @Argument(help: "Entry names, OWNER/NAME, or folders (ending in /).") var entries: [String] = []
    @Flag(help: "Every entry (yours, or --from OWNER's shared with you).") var all = false
    @Option(help: "The owner whose shared entries the names are.") var from: String?
    @Option(name: .shortAndLong, help: "Output file, folder, or - for standard output.") var output: String?

    func run() async throws {
        try await clientErrors {
            guard all || !entries.isEmpty else { throw ValidationError("name at least one entry, a folder (trip/), or --all") }
            let session = try await TwinSession.open(server: node.url)
            var wanted: [(owner: String?, name: String, size: Int)] = []
            for argument in all ? [""] : entries {
                if argument.isEmpty || argument.hasSuffix("/") {
                    try await session.forEachEntryPage(owner: from, prefix: argument) { page in
                        wanted += page.filter { !Thumbnail.isThumbnail($0.name) }.map { (from, $0.name, $0.size) }
                    }
                } else {
                    wanted.append(try await Self.resolve(argument, from: from, session: session))
                }
            }
            guard !wanted.isEmpty else { throw TwinClientError.invalidArgument("no entries match: 'twin ls' lists yours") }
            let single = wanted.count == 1 && !all && !entries[0].hasSuffix("/")
            if output == "-" {
                guard single else { throw TwinClientError.invalidArgument("-o - writes one entry; name a folder with -o for several") }
                try await Self.toStandardOutput(wanted[0], session: session)
                return
            }
            var isFolder: ObjCBool = false
            let outputIsFolder = output.map { FileManager.default.fileExists(atPath: $0, isDirectory: &isFolder) && isFolder.boolValue } ?? false
            if !single, let output, !outputIsFolder {
                guard !FileManager.default.fileExists(atPath: output) else {
                    throw TwinClientError.invalidArgument("\(output) is a file; several entries need a folder (-o FOLDER)")
                }
                try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
            }
            var progress = TransferProgress(enabled: true, files: wanted.count, bytes: wanted.reduce(0) { $0 + $1.size })
            for entry in wanted {
                let destination: String
                if single, let output, !outputIsFolder {
                    destination = output
                } else {
                    // Names are checked paths (no empty, dot or dot-dot parts): they stay inside the folder.
                    destination = ((output ?? ".") as NSString).appendingPathComponent(entry.name)
                    try FileManager.default.createDirectory(atPath: (destination as NSString).deletingLastPathComponent,
                                                            withIntermediateDirectories: true)
                }
                let got = try await session.get(owner: entry.owner, name: entry.name, destination: destination)
                progress.advance(bytes: got.size)
                if single { FileHandle.standardError.write(Data("wrote \(destination) (\(got.size) bytes, verified)\n".utf8)) }
            }
            progress.finish()
            if !single { FileHandle.standardError.write(Data("wrote \(wanted.count) entries under \(output ?? "."), verified\n".utf8)) }
        }
    }

    /// An own entry of that name, else OWNER/NAME shared with this user.
    static func resolve(_ argument: String, from: String?, session: TwinSession) async throws -> (owner: String?, name: String, size: Int) {
        if let from { return (from, argument, try await session.entry(owner: from, name: argument).size) }
        do {
            return (nil, argument, try await session.entry(owner: nil, name: argument).size)
        } catch let error as TwinClientError where error.serverCode == ErrorCode.notFound.rawValue {
            guard let slash = argument.firstIndex(of: "/") else {
                throw TwinClientError.invalidArgument("you have no entry '\(argument)': 'twin ls' lists yours, 'twin ls --shared' what others shared")
            }
            let owner = String(argument[..<slash]), name = String(argument[argument.index(after: slash)...])
            do {
                return (owner, name, try await session.entry(owner: owner, name: name).size)
            } catch let error as TwinClientError where error.isRefusal {
                throw TwinClientError.invalidArgument("you have no entry '\(argument)', and no user '\(owner)' shares '\(name)' with you: "
                                                      + "'twin ls' lists yours, 'twin ls --shared' what others shared")
            }
        }
    }

    /// Decrypts into a private temporary file first, so that nothing reaches standard output
    /// before every check passed, then copies it there.
    static func toStandardOutput(_ entry: (owner: String?, name: String, size: Int), session: TwinSession) async throws {
        let temporary = FileManager.default.temporaryDirectory.appendingPathComponent("twin-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: temporary) }
        _ = try await session.get(owner: entry.owner, name: entry.name, destination: temporary)
        guard let input = FileHandle(forReadingAtPath: temporary) else { throw TwinClientError.invalidArgument("cannot read \(temporary)") }
        defer { try? input.close() }
        while let block = try input.read(upToCount: 1 << 20), !block.isEmpty {
            try FileHandle.standardOutput.write(contentsOf: block)
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
