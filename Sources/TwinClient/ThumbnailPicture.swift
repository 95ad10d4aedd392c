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
/// The segments and chunks are those `Convergent`'s structure scanner finds for the chunker. Anything
/// it does not parse (a length past the end, a missing marker, a chunk type that is not letters), and
/// everything from an EOI or IEND on, is covered to the end, so malformed input only ever shares a
/// digest with identical bytes.
/// Thumbnails must stay a function of what is covered: the one thing they take from a skipped
/// segment, the EXIF orientation (`orientation(of:)`), is covered as its value.
extension Thumbnail {
    /// The picture digest of `image`, or nil when it is neither JPEG nor PNG.
    public static func pictureDigest(of image: [UInt8]) -> Digest32? {
        let format = ImageFormat.sniff(image)
        let skippable: (Region) -> Bool
        switch format {
        case .jpeg: skippable = { Self.jpegIgnored.contains($0.type) }
        case .png: skippable = { Self.pngIgnored.contains($0.type) }
        default: return nil
        }
        var hash = SHA256()
        hash.update(data: Array("twin-thumbnail-picture-v2 \(format.rawValue)".utf8))
        let orientation = image.withUnsafeBytes { bytes in
            // The regions the chunker cuts at (`ImageFormat.regions`), up to the first that ends
            // the parse: the JPEG scan data, an EOI or IEND, or anything not understood.
            let (regions, end) = format.regions(of: bytes)
            var covered = end
            var inPixelRun = false
            for (offset, region) in regions {
                if region.type == Self.jpegEOI || region.type == Self.pngIEND {
                    covered = offset
                    break
                }
                let length = Int(region.length!)
                // Each covered region is self-delimiting (its marker or length field says where it
                // ends), and a tag byte before each region and break keeps the hashed stream
                // unambiguous.
                if skippable(region) {
                    // A skipped region ends a run of pixel chunks as a covered one would.
                    if inPixelRun { hash.update(data: [Self.runBreak]) }
                    inPixelRun = false
                } else {
                    hash.update(data: [Self.coveredPart])
                    hash.update(bufferPointer: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length]))
                    inPixelRun = region.kind == .payload
                }
            }
            hash.update(data: [Self.rest])
            hash.update(bufferPointer: UnsafeRawBufferPointer(rebasing: bytes[covered...]))
            return Self.orientation(in: bytes, format: format, regions: regions)
        }
        // The EXIF orientation turns the thumbnail, and it sits in the skipped APP1 or eXIf: it is
        // covered as its value: one byte after the rest, so the hashed stream still parses one way.
        hash.update(data: [UInt8(orientation)])
        return Digest32(hash.finalize())
    }

    private static let runBreak: UInt8 = 0, coveredPart: UInt8 = 1, rest: UInt8 = 2

    /// APP1–APP13, APP15 and COM (before the first SOS: the regions stop there).
    private static let jpegIgnored: Set<UInt32> = Set((0xFFE1...0xFFED) as ClosedRange<UInt32>).union([0xFFEF, 0xFFFE])
    private static let jpegEOI: UInt32 = 0xFFD9
    private static let pngIgnored: Set<UInt32> = Set(["tEXt", "zTXt", "iTXt", "eXIf", "tIME", "pHYs"].map(Region.fourCC))
    private static let pngIEND = Region.fourCC("IEND")
}
