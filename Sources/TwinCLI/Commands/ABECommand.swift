import ArgumentParser
import Foundation
import KPABE

/// `twin abe …`: the KP-ABE scheme on files, for trying policies out and for scripts.
/// Exit status: 0 success, 3 the key's policy is not satisfied, 2 any other error.
struct ABE: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "abe", abstract: "Key-policy attribute-based encryption over BLS12-381.",
        subcommands: [Setup.self, KeyGen.self, Encrypt.self, Decrypt.self])

    struct Setup: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "setup", abstract: "Create an authority: DIR/public.key and DIR/master.key.")
        @Option(help: "Folder for the keys.") var out: String

        func run() throws {
            try reportingErrors {
                let (parameters, master) = KPABE.setup()
                try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
                try writeFile((out as NSString).appendingPathComponent("public.key"), parameters.encoded())
                try writeFile((out as NSString).appendingPathComponent("master.key"), master.encoded(), secret: true)
                print("authority \(master.authority)")
            }
        }
    }

    struct KeyGen: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "keygen", abstract: "Issue a key for a policy.")
        @Option(help: "The authority's master.key.") var master: String
        @Option(help: "Access policy, e.g. 'family or (friend and vacation)'.") var policy: String
        @Option(help: "Where to write the key.") var out: String

        func run() throws {
            try reportingErrors {
                let master = try MasterSecret(decoding: try readFile(master))
                let key = try KPABE.keyGen(master, policy: try PolicyParser.parse(policy))
                try writeFile(out, key.encoded(), secret: true)
            }
        }
    }

    struct Encrypt: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "encrypt", abstract: "Encrypt a file under a set of attributes.")
        @Option(help: "The authority's public.key.") var `public`: String
        @Option(help: "Comma-separated attributes, e.g. 'family,vacation,2026'.") var attributes: String
        @Option(name: .customLong("in"), help: "Plaintext file.") var input: String
        @Option(help: "Ciphertext file.") var out: String

        func run() throws {
            try reportingErrors {
                let parameters = try PublicParameters(decoding: try readFile(`public`))
                let names = attributes.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                let ciphertext = try KPABE.encrypt(try readFile(input), attributes: names, to: parameters)
                try writeFile(out, ciphertext.encoded())
            }
        }
    }

    struct Decrypt: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "decrypt", abstract: "Decrypt a file with a key whose policy its attributes satisfy.")
        @Option(help: "A key from 'twin abe keygen'.") var key: String
        @Option(name: .customLong("in"), help: "Ciphertext file.") var input: String
        @Option(help: "Plaintext file.") var out: String

        func run() throws {
            try reportingErrors {
                let key = try DecryptionKey(decoding: try readFile(key))
                let plaintext = try KPABE.decrypt(try Ciphertext(decoding: try readFile(input)), with: key)
                try writeFile(out, plaintext, secret: true)
            }
        }
    }
}

/// Maps errors to the documented exit statuses with a one-line message on stderr.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch KPABEError.policyNotSatisfied {
        FileHandle.standardError.write(Data("twin: access denied: the key's policy is not satisfied by the ciphertext's attributes\n".utf8))
        throw ExitCode(3)
    } catch {
        FileHandle.standardError.write(Data("twin: \(error)\n".utf8))
        throw ExitCode(2)
    }
}

func readFile(_ path: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
}

/// Writes atomically (temporary file, then rename); secrets are readable by their owner only.
func writeFile(_ path: String, _ bytes: [UInt8], secret: Bool = false) throws {
    let url = URL(fileURLWithPath: path)
    try Data(bytes).write(to: url, options: .atomic)
    if secret { try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path) }
}
