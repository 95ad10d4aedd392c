import Convergent
import Crypto

/// What a thumbnail is made from. Two images with one picture digest have one thumbnail, so a run
/// decodes a photo once however many of its copies it meets, metadata edits and all.
///
/// The digest covers every byte the thumbnail decoder (`CThumbnail`: libjpeg, libpng) reads and
/// skips only segments it never looks at:
/// - JPEG (ITU-T T.81 B.1): APP1–APP13, APP15 and COM segments before the first SOS (EXIF, XMP,
///   ICC, IPTC, comments). APP0 (JFIF) and APP14 (Adobe) stay: libjpeg takes the colour space from
///   them. Everything from the first SOS on is covered, trailers included.
/// - PNG (ISO/IEC 15948 §5.3): tEXt, zTXt, iTXt, eXIf, tIME and pHYs chunks. gAMA, sRGB, iCCP and
///   cHRM stay (libpng's simplified API, used for interlaced images, composes with the file's gamma).
///   A skipped chunk between two IDAT chunks still counts as a break in the IDAT sequence, which
///   libpng refuses, so such a file never shares a digest with its unbroken twin.
///
/// Anything not parsed as expected (a length past the end, a missing marker) is covered from there
/// to the end, so malformed input only ever shares a digest with identical bytes.
/// Thumbnails must stay a function of the covered bytes: a thumbnailer that applied EXIF
/// orientation, for instance, would have to stop skipping APP1.
extension Thumbnail {
    /// The picture digest of `image`, or nil when it is neither JPEG nor PNG.
    public static func pictureDigest(of image: [UInt8]) -> Digest32? {
        switch ImageFormat.sniff(image) {
        case .jpeg: digest(image, domain: "twin-thumbnail-picture-v1 jpeg", skipping: jpegSkippable)
        case .png: digest(image, domain: "twin-thumbnail-picture-v1 png", skipping: pngSkippable)
        default: nil
        }
    }

    /// Where a container's next part starts, how long it is, and whether the decoder ignores it.
    private struct Part {
        var length: Int
        var skippable: Bool
        var isPixelData = false
    }

    private static let runBreak: UInt8 = 0, coveredPart: UInt8 = 1, rest: UInt8 = 2

    /// Hashes `image` part by part as `next` cuts it; nil from `next` covers the rest.
    private static func digest(_ image: [UInt8], domain: String,
                               skipping next: ([UInt8], Int) -> Part?) -> Digest32 {
        var hash = SHA256()
        hash.update(data: Array(domain.utf8))
        image.withUnsafeBytes { bytes in
            var offset = 0
            var inPixelRun = false
            while offset < bytes.count, let part = next(image, offset), part.length > 0, offset + part.length <= bytes.count {
                // Each covered part is self-delimiting (its marker or length field says where it
                // ends), and a tag byte before each part and break keeps the hashed stream
                // unambiguous.
                if part.skippable {
                    // A skipped part ends a run of pixel chunks as a covered one would.
                    if inPixelRun { hash.update(data: [Self.runBreak]) }
                    inPixelRun = false
                } else {
                    hash.update(data: [Self.coveredPart])
                    hash.update(bufferPointer: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + part.length]))
                    inPixelRun = part.isPixelData
                }
                offset += part.length
            }
            hash.update(data: [Self.rest])
            hash.update(bufferPointer: UnsafeRawBufferPointer(rebasing: bytes[offset...]))
        }
        return Digest32(hash.finalize())
    }

    /// JPEG segments before the first SOS; nil at SOS or anything unexpected (the rest is covered).
    private static func jpegSkippable(_ image: [UInt8], _ offset: Int) -> Part? {
        if offset == 0 { return Part(length: 2, skippable: false) }  // SOI (sniffed)
        guard offset + 4 <= image.count, image[offset] == 0xFF else { return nil }
        let marker = image[offset + 1]
        guard marker != 0xDA, marker != 0xD9, marker != 0xFF, marker != 0x00 else { return nil }
        if marker == 0x01 || (0xD0...0xD7).contains(marker) { return Part(length: 2, skippable: false) }
        let length = 2 + (Int(image[offset + 2]) << 8 | Int(image[offset + 3]))
        guard length >= 4 else { return nil }
        let skippable = (0xE1...0xED).contains(marker) || marker == 0xEF || marker == 0xFE
        return Part(length: length, skippable: skippable)
    }

    private static let pngIgnored: Set<[UInt8]> = Set(["tEXt", "zTXt", "iTXt", "eXIf", "tIME", "pHYs"].map { Array($0.utf8) })

    /// PNG chunks after the signature; nil after IEND or anything unexpected (the rest is covered).
    private static func pngSkippable(_ image: [UInt8], _ offset: Int) -> Part? {
        if offset == 0 { return Part(length: 8, skippable: false) }  // signature (sniffed)
        guard offset + 12 <= image.count else { return nil }
        let dataLength = image[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
        guard dataLength <= 0x7FFF_FFFF else { return nil }
        let type = Array(image[offset + 4..<offset + 8])
        guard type != Array("IEND".utf8) else { return nil }
        return Part(length: 12 + dataLength, skippable: pngIgnored.contains(type), isPixelData: type == Array("IDAT".utf8))
    }
}
