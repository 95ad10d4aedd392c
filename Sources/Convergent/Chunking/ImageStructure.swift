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
    /// What the container calls the region: the JPEG marker (0xFFE1 for APP1), or the PNG chunk type,
    /// RIFF chunk or ISO-BMFF box type as its four bytes read big-endian ("IDAT" is 0x49444154); 0
    /// for the start of a format (SOI, the signature) and for the rest of a stream not understood.
    public var type: UInt32

    static func metadata(_ length: Int64, type: UInt32) -> Region {
        Region(kind: .metadata, length: length, continuesPayload: false, type: type)
    }
    static func payload(_ length: Int64?, continues: Bool = false, type: UInt32) -> Region {
        Region(kind: .payload, length: length, continuesPayload: continues, type: type)
    }
    /// The fallback for anything not understood: the rest is opaque data.
    static let restOfStream = Region.payload(nil, type: 0)

    /// A four-character type as `type` holds it.
    public static func fourCC(_ name: StaticString) -> UInt32 {
        precondition(name.utf8CodeUnitCount == 4)
        return (0..<4).reduce(0) { $0 << 8 | UInt32(name.utf8Start[$1]) }
    }
}

extension ImageFormat {
    /// The regions of a whole image in memory, in order, each with its offset, as the chunker sees
    /// them; it stops before the first region that runs to the end of `image` or past it (the rest
    /// of the stream, from `end`, is what the scanner could not take apart or the JPEG scan data).
    public func regions(of image: UnsafeRawBufferPointer) -> (regions: [(offset: Int, region: Region)], end: Int) {
        var scanner = StructureScanner(format: self)
        var regions: [(offset: Int, region: Region)] = []
        var offset = 0
        while offset < image.count {
            let header = UnsafeRawBufferPointer(rebasing: image[offset..<min(image.count, offset + StructureScanner.headerLength)])
            let region = scanner.region(header: header)
            guard let length = region.length, length <= Int64(image.count - offset) else { break }
            regions.append((offset, region))
            offset += Int(length)
        }
        return (regions, offset)
    }
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
        if regionsSeen == 0 { return .metadata(2, type: 0) }  // SOI
        guard h.count >= 2, h[0] == 0xFF else { return nil }
        let marker = h[1]
        let type = 0xFF00 | UInt32(marker)
        switch marker {
        case 0xDA:  // SOS: the entropy-coded data follows; everything from here is pixels.
            return .payload(nil, type: type)
        case 0xD9:  // EOI: whatever trails it (a second image, a maker trailer) is opaque.
            return .metadata(2, type: type)
        case 0x01, 0xD0...0xD7:
            return .metadata(2, type: type)
        case 0x00, 0xFF:
            return nil
        default:
            guard h.count >= 4 else { return nil }
            let length = Int64(h[2]) << 8 | Int64(h[3])
            guard length >= 2 else { return nil }
            return .metadata(2 + length, type: type)
        }
    }

    // MARK: PNG (ISO/IEC 15948 §5.3): length(4, BE) type(4) data CRC(4).

    private mutating func png(_ h: UnsafeRawBufferPointer) -> Region? {
        if regionsSeen == 0 { return .metadata(8, type: 0) }  // signature
        guard h.count >= 8 else { return nil }
        let length = Int64(h[0]) << 24 | Int64(h[1]) << 16 | Int64(h[2]) << 8 | Int64(h[3])
        guard length <= 0x7FFF_FFFF, (4..<8).allSatisfy({ Self.isLetter(h[$0]) }) else { return nil }
        let type = Self.fourCC(h, at: 4)
        switch type {
        case Self.idat, Self.fdat:
            return .payload(12 + length, continues: previousWasPayload, type: type)
        default:
            return .metadata(12 + length, type: type)
        }
    }

    // MARK: RIFF / WebP: "RIFF" size "WEBP", then chunks fourcc(4) size(4, LE) data, padded to even.

    private mutating func riff(_ h: UnsafeRawBufferPointer) -> Region? {
        if regionsSeen == 0 { return .metadata(12, type: 0) }
        guard h.count >= 8 else { return nil }
        let size = Int64(h[4]) | Int64(h[5]) << 8 | Int64(h[6]) << 16 | Int64(h[7]) << 24
        let type = Self.fourCC(h, at: 0)
        let length = 8 + size + (size & 1)
        switch type {
        case Self.vp8, Self.vp8l, Self.alph, Self.anmf:
            return .payload(length, continues: previousWasPayload, type: type)
        default:
            guard (0..<4).allSatisfy({ h[$0] >= 0x20 && h[$0] < 0x7F }) else { return nil }
            return .metadata(length, type: type)
        }
    }

    // MARK: ISO-BMFF (ISO/IEC 14496-12 §4.2): size(4) type(4) [largesize(8)]; size 0 = to the end.

    private mutating func bmff(_ h: UnsafeRawBufferPointer) -> Region? {
        guard h.count >= 8 else { return nil }
        var size = Int64(h[0]) << 24 | Int64(h[1]) << 16 | Int64(h[2]) << 8 | Int64(h[3])
        guard (4..<8).allSatisfy({ h[$0] >= 0x20 && h[$0] < 0x7F }) else { return nil }
        let type = Self.fourCC(h, at: 4)
        if size == 1 {
            guard h.count >= 16 else { return nil }
            size = (8..<16).reduce(Int64(0)) { $0 << 8 | Int64(h[$1]) }
            guard size >= 16 else { return nil }
        } else if size != 0, size < 8 {
            return nil
        }
        let length: Int64? = size == 0 ? nil : size
        return type == Self.mdat ? .payload(length, continues: previousWasPayload, type: type) : .metadata(length ?? 0, type: type)
    }

    private static let idat = Region.fourCC("IDAT"), fdat = Region.fourCC("fdAT"), mdat = Region.fourCC("mdat")
    private static let vp8 = Region.fourCC("VP8 "), vp8l = Region.fourCC("VP8L"), alph = Region.fourCC("ALPH"), anmf = Region.fourCC("ANMF")

    private static func fourCC(_ h: UnsafeRawBufferPointer, at start: Int) -> UInt32 {
        (start..<start + 4).reduce(0) { $0 << 8 | UInt32(h[$1]) }
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
    }
}
