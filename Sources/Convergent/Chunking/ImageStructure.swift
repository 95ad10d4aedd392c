/// Image-aware boundaries. Each supported format is read as a sequence of regions (a JPEG segment,
/// a PNG chunk, a RIFF chunk, an ISO-BMFF box): metadata regions, which edits touch, and payload
/// regions (the pixels), which a re-shared copy keeps byte for byte. Cutting at region edges lets a
/// copy whose EXIF was edited share every pixel chunk with the original.
///
/// Scanners see only the first bytes of each region as the stream reaches it, never the whole file,
/// and give up on anything they do not understand by declaring the rest of the stream one payload
/// region, which FastCDC then cuts: corrupt or truncated files chunk without error.

/// What a region holds, which decides how it is cut.
public enum RegionKind: Sendable, Equatable, Hashable {
    /// Cut at both edges; small neighbours share a chunk.
    case metadata
    /// Content-defined chunking inside; consecutive payload regions of one image form one run.
    case payload
}

public struct Region: Sendable, Equatable {
    public var kind: RegionKind
    /// nil: the region runs to the end of the stream.
    public var length: Int64?
    /// For payload: continues the previous payload region (the next IDAT of an IDAT run).
    public var continuesPayload: Bool

    static func metadata(_ length: Int64) -> Region { Region(kind: .metadata, length: length, continuesPayload: false) }
    static func payload(_ length: Int64?, continues: Bool = false) -> Region {
        Region(kind: .payload, length: length, continuesPayload: continues)
    }
    /// The fallback for anything not understood: the rest is opaque data.
    static let restOfStream = Region.payload(nil)
}

/// The container formats the chunker understands, sniffed from the first bytes.
public enum ImageFormat: String, Sendable, CaseIterable {
    case jpeg, png, webp, isoBMFF = "iso-bmff", unknown

    /// How many leading bytes `sniff` wants.
    static let sniffLength = 12

    public static func sniff(_ head: some Collection<UInt8>) -> ImageFormat {
        let bytes = Array(head.prefix(sniffLength))
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return .jpeg }
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if bytes.count >= 12, bytes[0..<4].elementsEqual("RIFF".utf8), bytes[8..<12].elementsEqual("WEBP".utf8) {
            return .webp
        }
        if bytes.count >= 8, bytes[4..<8].elementsEqual("ftyp".utf8) { return .isoBMFF }
        return .unknown
    }

    /// The media type recorded in the manifest (derived from content, so identical files agree).
    public var mediaType: String {
        switch self {
        case .jpeg: "image/jpeg"
        case .png: "image/png"
        case .webp: "image/webp"
        case .isoBMFF: "image/heif"
        case .unknown: "application/octet-stream"
        }
    }
}

/// An incremental parser of one container format.
struct StructureScanner {
    /// How many bytes at a region start a scanner may look at.
    static let headerLength = 16

    private let format: ImageFormat
    private var regionsSeen = 0
    private var previousWasPayload = false
    private var finished = false

    init(format: ImageFormat) { self.format = format }

    /// The region starting where the stream now is. `header` holds the next bytes (fewer only at the
    /// end of the stream).
    mutating func region(header: UnsafeRawBufferPointer) -> Region {
        if finished { return .restOfStream }
        defer { regionsSeen += 1 }
        let region: Region?
        switch format {
        case .jpeg: region = jpeg(header)
        case .png: region = png(header)
        case .webp: region = riff(header)
        case .isoBMFF: region = bmff(header)
        case .unknown: region = nil
        }
        guard let region, region.length.map({ $0 > 0 }) ?? true else {
            finished = true
            return .restOfStream
        }
        if region.length == nil { finished = true }
        previousWasPayload = region.kind == .payload
        return region
    }

    // MARK: JPEG (ITU-T T.81 B.1): FF xx markers; segments carry a 16-bit length that counts itself.

    private mutating func jpeg(_ h: UnsafeRawBufferPointer) -> Region? {
        if regionsSeen == 0 { return .metadata(2) }  // SOI
        guard h.count >= 2, h[0] == 0xFF else { return nil }
        let marker = h[1]
        switch marker {
        case 0xDA:  // SOS: the entropy-coded data follows; everything from here is pixels.
            return .payload(nil)
        case 0xD9:  // EOI: whatever trails it (a second image, a maker trailer) is opaque.
            return .metadata(2)
        case 0x01, 0xD0...0xD7:
            return .metadata(2)
        case 0x00, 0xFF:
            return nil
        default:
            guard h.count >= 4 else { return nil }
            let length = Int64(h[2]) << 8 | Int64(h[3])
            guard length >= 2 else { return nil }
            return .metadata(2 + length)
        }
    }

    // MARK: PNG (ISO/IEC 15948 §5.3): length(4, BE) type(4) data CRC(4).

    private mutating func png(_ h: UnsafeRawBufferPointer) -> Region? {
        if regionsSeen == 0 { return .metadata(8) }  // signature
        guard h.count >= 8 else { return nil }
        let length = Int64(h[0]) << 24 | Int64(h[1]) << 16 | Int64(h[2]) << 8 | Int64(h[3])
        guard length <= 0x7FFF_FFFF, (4..<8).allSatisfy({ Self.isLetter(h[$0]) }) else { return nil }
        let type = String(decoding: UnsafeRawBufferPointer(rebasing: h[4..<8]), as: UTF8.self)
        switch type {
        case "IDAT", "fdAT":
            return .payload(12 + length, continues: previousWasPayload)
        default:
            return .metadata(12 + length)
        }
    }

    // MARK: RIFF / WebP: "RIFF" size "WEBP", then chunks fourcc(4) size(4, LE) data, padded to even.

    private mutating func riff(_ h: UnsafeRawBufferPointer) -> Region? {
        if regionsSeen == 0 { return .metadata(12) }
        guard h.count >= 8 else { return nil }
        let size = Int64(h[4]) | Int64(h[5]) << 8 | Int64(h[6]) << 16 | Int64(h[7]) << 24
        let fourcc = String(decoding: UnsafeRawBufferPointer(rebasing: h[0..<4]), as: UTF8.self)
        let length = 8 + size + (size & 1)
        switch fourcc {
        case "VP8 ", "VP8L", "ALPH", "ANMF":
            return .payload(length, continues: previousWasPayload)
        default:
            guard (0..<4).allSatisfy({ h[$0] >= 0x20 && h[$0] < 0x7F }) else { return nil }
            return .metadata(length)
        }
    }

    // MARK: ISO-BMFF (ISO/IEC 14496-12 §4.2): size(4) type(4) [largesize(8)]; size 0 = to the end.

    private mutating func bmff(_ h: UnsafeRawBufferPointer) -> Region? {
        guard h.count >= 8 else { return nil }
        var size = Int64(h[0]) << 24 | Int64(h[1]) << 16 | Int64(h[2]) << 8 | Int64(h[3])
        guard (4..<8).allSatisfy({ h[$0] >= 0x20 && h[$0] < 0x7F }) else { return nil }
        let type = String(decoding: UnsafeRawBufferPointer(rebasing: h[4..<8]), as: UTF8.self)
        if size == 1 {
            guard h.count >= 16 else { return nil }
            size = (8..<16).reduce(Int64(0)) { $0 << 8 | Int64(h[$1]) }
            guard size >= 16 else { return nil }
        } else if size != 0, size < 8 {
            return nil
        }
        let length: Int64? = size == 0 ? nil : size
        return type == "mdat" ? .payload(length, continues: previousWasPayload) : .metadata(length ?? 0)
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
    }
}
