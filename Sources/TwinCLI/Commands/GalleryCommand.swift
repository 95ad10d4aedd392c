import ArgumentParser
import Foundation
import TwinClient
import TwinGallery

/// `twin gallery`: the private web gallery (`TwinGallery`) for this machine's account.
struct Gallery: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gallery", abstract: "Browse your photos and those shared with you in a local web page (decrypted on this machine).",
        discussion: "Listens on 127.0.0.1 only. Open the printed link: its token is exchanged for a cookie; without it the page refuses.")
    @OptionGroup var node: NodeOption
    @Option(help: "Port on 127.0.0.1.") var port = 8734
    @Flag(help: "Open the page in the default browser (xdg-open).") var open = false

    func run() async throws {
        try await clientErrors {
            let session = try await TwinSession.open(server: node.url)
            let configuration = GalleryConfiguration(port: port, token: GalleryConfiguration.makeToken())
            let link = "http://127.0.0.1:\(port)/?token=\(configuration.token)"
            let openBrowser = open
            let app = buildGalleryApplication(session: session, configuration: configuration,
                                              saveKeyring: { try Keyring.saveAttributeVersions(of: $0) }) {
                FileHandle.standardOutput.write(Data("gallery of \(session.keyring.user) at \(link)\n".utf8))
                if openBrowser {
                    let browser = Process()
                    browser.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                    browser.arguments = ["xdg-open", link]
                    try? browser.run()
                }
            }
            try await app.runService()
        }
    }
}
