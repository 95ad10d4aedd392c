import CThumbnail
import Convergent
import Foundation
import TwinProtocol

/// Thumbnails: small JPEGs made on this machine from an image's plaintext, so a gallery shows a grid
/// without fetching the full images. A thumbnail is stored as an entry of its own under
/// `Thumbnail.prefix` + the image's name, with the image's attributes: it is convergently encrypted
/// like any file (the same image makes the same thumbnail, so thumbnails deduplicate across users),
/// shared and re-keyed with the image, and the server sees only ciphertext.
public enum Thumbnail {
    /// The folder of thumbnail entries: the one name part that may start with a dot, so no
    /// uploaded file can be named into it.
    public static let prefix = TwinProtocol.thumbnailFolder + "/"
    /// The longer side, in pixels: sharp in a grid of 200-pixel tiles on a 2× display.
    public static let maximumSide = 400
    static let quality = 80
    /// Images above this are not decoded (a few hundred megabytes of pixels).
    static let maximumPixels: UInt64 = 100_000_000

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case notAnImage
        case unreadable(String)
        case tooLarge(String)

        public var description: String {
            switch self {
            case .notAnImage: "not a JPEG or PNG image"
            case .unreadable(let reason): "the image does not decode: \(reason)"
            case .tooLarge(let reason): reason
            }
        }
    }

    /// The thumbnail entry's name for the image entry `name`.
    public static func name(for name: String) -> String { prefix + name }
    /// Whether `name` is a thumbnail entry's.
    public static func isThumbnail(_ name: String) -> Bool { name.hasPrefix(prefix) }

    /// Whether the first bytes look like an image this makes thumbnails of (JPEG or PNG).
    public static func canMake(fromHeader header: some Collection<UInt8>) -> Bool {
        canMake(ImageFormat.sniff(header))
    }

    /// Whether this makes thumbnails of images in `format`.
    public static func canMake(_ format: ImageFormat) -> Bool { format == .jpeg || format == .png }

    /// A JPEG of at most `maximumSide` pixels on its longer side, turned as the image's EXIF
    /// orientation says it is shown (`orientation(of:)`); deterministic for given bytes.
    public static func make(from image: [UInt8]) throws(Failure) -> [UInt8] {
        var output: UnsafeMutablePointer<UInt8>?
        var length = 0
        var message = [CChar](repeating: 0, count: 256)
        let orientation = Int32(orientation(of: image))
        let status = image.withUnsafeBufferPointer { input in
            twin_thumbnail(input.baseAddress, input.count, Int32(maximumSide), Int32(quality), maximumPixels, orientation,
                           &output, &length, &message, message.count)
        }
        let reason = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        switch status {
        case 0:
            defer { twin_thumbnail_free(output) }
            return Array(UnsafeBufferPointer(start: output, count: length))
        case -1: throw .notAnImage
        case -3: throw .tooLarge(reason)
        default: throw .unreadable(reason)
        }
    }
}
