import ArgumentParser
import Convergent
import Foundation
import TwinClient

/// `twin bench thumbnails DIR`: what making each image's thumbnail costs (median ms of a few runs),
/// by file, and in total per format; the upload pays this for every JPEG and PNG it sends.
struct BenchThumbnails: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "thumbnails", abstract: "Thumbnail timings per image (median ms).")

    @Argument(help: "A folder of images.") var folder: String
    @Flag(help: "Print one JSON object and nothing else.") var json = false
    @Option(help: "Timed runs per image.") var runs = 3

    func run() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        var perFile: [(String, Int, Double)] = []
        var totals: [String: (count: Int, ms: Double)] = [:]
        for name in names {
            guard let bytes = FileManager.default.contents(atPath: folder + "/" + name).map(Array.init) else { continue }
            let format = ImageFormat.sniff(bytes)
            guard Thumbnail.canMake(format) else { continue }
            var failed = false
            let micros = BenchClock.medianMicros(iterations: runs, warmup: 0) {
                do { _ = try Thumbnail.make(from: bytes) } catch { failed = true }
            }
            guard !failed else { continue }
            let ms = rounded(micros / 1000, 2)
            perFile.append((name, bytes.count, ms))
            totals[format.rawValue, default: (0, 0)].count += 1
            totals[format.rawValue, default: (0, 0)].ms += ms
        }
        if json {
            var object: [String: any Encodable] = [:]
            for (format, total) in totals {
                object["\(format)_images"] = total.count
                object["\(format)_ms_total"] = rounded(total.ms, 1)
                object["\(format)_ms_mean"] = rounded(total.ms / Double(total.count), 2)
            }
            printJSON(object)
        } else {
            for (name, size, ms) in perFile { print(name.padding(toLength: 28, withPad: " ", startingAt: 0), size, ms) }
            for (format, total) in totals.sorted(by: { $0.key < $1.key }) {
                print("\(format): \(total.count) images, \(rounded(total.ms, 1)) ms, \(rounded(total.ms / Double(total.count), 2)) ms each")
            }
        }
    }
}
