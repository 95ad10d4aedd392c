import Convergent

/// How a photo is meant to be shown: the EXIF orientation (TIFF 6.0 tag 274, 0x0112) that cameras
/// write instead of turning the pixels. A thumbnail is turned to match, as every viewer turns the
/// photo, so a portrait taken with a phone held upright is upright in the gallery too.
///
/// Read from the first APP1 segment holding "Exif\0\0" before a JPEG's first SOS, or from a PNG's
/// first eXIf chunk (PNG 1.5 extensions), through `Convergent`'s structure scanner; then from IFD0
/// of the TIFF structure inside. Every offset and count is checked against the segment's bounds, so
/// malformed EXIF reads as 1 (as stored), never as an error.
extension Thumbnail {
    /// The image's EXIF orientation, 1–8; 1 when there is none or it does not parse.
    public static func orientation(of image: [UInt8]) -> Int {
        let format = ImageFormat.sniff(image)
        return image.withUnsafeBytes { orientation(in: $0, format: format, regions: format.regions(of: $0).regions) }
    }

    /// The orientation of `bytes`, an image in `format` whose regions (`ImageFormat.regions`) are
    /// `regions`: for callers that walked them already.
    static func orientation(in bytes: UnsafeRawBufferPointer, format: ImageFormat, regions: [(offset: Int, region: Region)]) -> Int {
        for (offset, region) in regions {
            let end = offset + Int(region.length!)
            switch (format, region.type) {
            case (.jpeg, 0xFFE1):
                let payload = UnsafeRawBufferPointer(rebasing: bytes[offset + 4..<end])
                guard payload.starts(with: exifHeader) else { continue }
                return tiffOrientation(UnsafeRawBufferPointer(rebasing: payload[exifHeader.count...])) ?? 1
            case (.png, pngExif):
                return tiffOrientation(UnsafeRawBufferPointer(rebasing: bytes[offset + 8..<end - 4])) ?? 1
            default:
                continue
            }
        }
        return 1
    }

    private static let exifHeader: [UInt8] = Array("Exif".utf8) + [0, 0]
    private static let pngExif = Region.fourCC("eXIf")

    /// The orientation in IFD0 of a TIFF structure (TIFF 6.0 §2: byte order "II" or "MM", 42, the
    /// IFD's offset; an IFD is a count, 12-byte entries of tag, type, count and value, and the next
    /// IFD's offset). An IFD that overruns the structure is refused whole; only a single SHORT of
    /// 1–8 counts.
    static func tiffOrientation(_ tiff: UnsafeRawBufferPointer) -> Int? {
        guard tiff.count >= 8 else { return nil }
        let littleEndian: Bool
        switch (tiff[0], tiff[1]) {
        case (0x49, 0x49): littleEndian = true
        case (0x4D, 0x4D): littleEndian = false
        default: return nil
        }
        func integer(at offset: Int, size: Int) -> Int? {
            guard offset >= 0, size <= tiff.count, offset <= tiff.count - size else { return nil }
            let bytes = (0..<size).map { Int(tiff[offset + $0]) }
            return (littleEndian ? bytes.reversed() : bytes).reduce(0) { $0 << 8 | $1 }
        }
        // The whole IFD (its entries and the next IFD's offset) must lie inside the structure.
        guard integer(at: 2, size: 2) == 42, let directory = integer(at: 4, size: 4), let count = integer(at: directory, size: 2),
              directory + 2 + 12 * count + 4 <= tiff.count else {
            return nil
        }
        for index in 0..<count {
            let entry = directory + 2 + 12 * index
            guard integer(at: entry, size: 2) == 0x0112 else { continue }
            guard integer(at: entry + 2, size: 2) == 3, integer(at: entry + 4, size: 4) == 1,
                  let value = integer(at: entry + 8, size: 2), (1...8).contains(value) else { return nil }
            return value
        }
        return nil
    }
}
