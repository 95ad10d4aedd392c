import CZlib
import Testing
@testable import TwinClient

/// Thumbnails of PNGs made here (RGB, RGBA, palette with tRNS, 16-bit, grey): their size, that
/// transparency is composed over white, and that bad input is refused with the reason.
@Suite("Thumbnails")
struct ThumbnailTests {
    /// A PNG of `width`×`height` pixels whose rows are `row(y)` (filter byte 0 added here).
    static func png(width: Int, height: Int, bitDepth: UInt8 = 8, colorType: UInt8, extraChunks: [(String, [UInt8])] = [],
                    row: (Int) -> [UInt8]) -> [UInt8] {
        var raw: [UInt8] = []
        for y in 0..<height { raw.append(0); raw += row(y) }
        var compressed = [UInt8](repeating: 0, count: Int(compressBound(uLong(raw.count))))
        var length = uLongf(compressed.count)
        _ = compressed.withUnsafeMutableBufferPointer { out in raw.withUnsafeBufferPointer { compress(out.baseAddress, &length, $0.baseAddress, uLong(raw.count)) } }
        compressed.removeLast(compressed.count - Int(length))
        let header = bigEndian(UInt32(width)) + bigEndian(UInt32(height)) + [bitDepth, colorType, 0, 0, 0]
        return pngFile([("IHDR", header)] + extraChunks + [("IDAT", compressed), ("IEND", [])])
    }

    static let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// A PNG of these chunks, with their lengths and CRCs.
    static func pngFile(_ chunks: [(String, [UInt8])]) -> [UInt8] {
        pngSignature + chunks.flatMap { type, data -> [UInt8] in
            let body = Array(type.utf8) + data
            let crc = UInt32(body.withUnsafeBufferPointer { crc32(0, $0.baseAddress, uInt($0.count)) })
            return bigEndian(UInt32(data.count)) + body + bigEndian(crc)
        }
    }

    /// The chunks of a well-formed PNG.
    static func pngChunks(_ file: [UInt8]) -> [(String, [UInt8])] {
        var chunks: [(String, [UInt8])] = []
        var i = 8
        while i + 12 <= file.count {
            let length = file[i..<i + 4].reduce(0) { $0 << 8 | Int($1) }
            chunks.append((String(decoding: file[i + 4..<i + 8], as: UTF8.self), Array(file[i + 8..<i + 8 + length])))
            i += 12 + length
        }
        return chunks
    }

    static func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }

    /// Width and height from a JPEG's SOF0 or SOF2 segment.
    static func jpegSize(_ jpeg: [UInt8]) -> (Int, Int)? {
        var i = 2
        while i + 9 < jpeg.count, jpeg[i] == 0xFF {
            let marker = jpeg[i + 1], length = Int(jpeg[i + 2]) << 8 | Int(jpeg[i + 3])
            if marker == 0xC0 || marker == 0xC2 { return (Int(jpeg[i + 7]) << 8 | Int(jpeg[i + 8]), Int(jpeg[i + 5]) << 8 | Int(jpeg[i + 6])) }
            i += 2 + length
        }
        return nil
    }

    static func rgb(_ width: Int, _ height: Int, _ pixel: (Int, Int) -> [UInt8]) -> [UInt8] {
        png(width: width, height: height, colorType: 2) { y in (0..<width).flatMap { pixel($0, y) } }
    }

    @Test("a large PNG fits 400 pixels on its longer side, keeping its shape; a small one keeps its size")
    func sizes() throws {
        let wide = Self.rgb(1600, 900) { x, y in [UInt8(x & 0xff), UInt8(y & 0xff), 77] }
        let thumbnail = try Thumbnail.make(from: wide)
        #expect(Self.jpegSize(thumbnail).map { [$0.0, $0.1] } == [400, 225])
        let small = Self.rgb(120, 80) { x, _ in [UInt8(x), 0, 0] }
        #expect(Self.jpegSize(try Thumbnail.make(from: small)).map { [$0.0, $0.1] } == [120, 80])
        #expect(try Thumbnail.make(from: wide) == thumbnail)   // deterministic: thumbnails deduplicate
    }

    @Test("transparency is composed over white: RGBA, palette with tRNS and grey with alpha")
    func transparency() throws {
        let white = try Thumbnail.make(from: Self.rgb(800, 600) { _, _ in [255, 255, 255] })
        let clear = Self.png(width: 800, height: 600, colorType: 6) { _ in [UInt8](repeating: 0, count: 800 * 4) }  // transparent black
        #expect(try Thumbnail.make(from: clear) == white)
        let halfRed = Self.png(width: 800, height: 600, colorType: 6) { _ in (0..<800).flatMap { _ in [255, 0, 0, 128] as [UInt8] } }
        let pink = try Thumbnail.make(from: Self.rgb(800, 600) { _, _ in [255, 127, 127] })
        #expect(try Thumbnail.make(from: halfRed) == pink)
        let palette = Self.png(width: 800, height: 600, colorType: 3,
                               extraChunks: [("PLTE", [0, 0, 0, 255, 255, 255]), ("tRNS", [0])]) { _ in [UInt8](repeating: 0, count: 800) }
        #expect(try Thumbnail.make(from: palette) == white)
        let greyAlpha = Self.png(width: 800, height: 600, colorType: 4) { _ in (0..<800).flatMap { _ in [0, 0] as [UInt8] } }
        #expect(try Thumbnail.make(from: greyAlpha) == white)
    }

    @Test("16-bit and grey PNGs give the thumbnails of their 8-bit RGB equivalents")
    func depths() throws {
        let rgb8 = try Thumbnail.make(from: Self.rgb(640, 480) { x, y in [UInt8(x & 0xff), UInt8(y & 0xff), 9] })
        let rgb16 = Self.png(width: 640, height: 480, bitDepth: 16, colorType: 2) { y in
            (0..<640).flatMap { x in [UInt8(x & 0xff), 0x31, UInt8(y & 0xff), 0x77, 9, 0] as [UInt8] }
        }
        #expect(try Thumbnail.make(from: rgb16) == rgb8)
        let grey = Self.png(width: 640, height: 480, colorType: 0) { y in (0..<640).map { UInt8(($0 + y) & 0xff) } }
        let greyAsRGB = try Thumbnail.make(from: Self.rgb(640, 480) { x, y in let v = UInt8((x + y) & 0xff); return [v, v, v] })
        #expect(try Thumbnail.make(from: grey) == greyAsRGB)
    }

    @Test("truncated, corrupt, oversized and foreign input is refused with its reason")
    func refusals() {
        let image = Self.rgb(500, 500) { x, _ in [UInt8(x & 0xff), 1, 2] }
        #expect(throws: Thumbnail.Failure.self) { try Thumbnail.make(from: Array(image.prefix(image.count / 2))) }
        var corrupt = image
        for i in stride(from: 60, to: corrupt.count - 20, by: 7) { corrupt[i] ^= 0x5a }
        #expect(throws: Thumbnail.Failure.self) { try Thumbnail.make(from: corrupt) }
        // 20,000 × 20,000 pixels in the header: refused before anything is decoded.
        let huge = Self.png(width: 20_000, height: 20_000, colorType: 2) { _ in [] }
        #expect {
            try Thumbnail.make(from: huge)
        } throws: { error in
            if case .tooLarge = error as? Thumbnail.Failure { return true } else { return false }
        }
        #expect(throws: Thumbnail.Failure.notAnImage) { try Thumbnail.make(from: Array("GIF89a, not ours".utf8)) }
    }

    @Test("the picture digest skips the metadata the decoder never reads, and nothing else")
    func pictureDigest() throws {
        let digest = { (image: [UInt8]) in try #require(Thumbnail.pictureDigest(of: image)) }
        let pixels = { (x: Int, y: Int) -> [UInt8] in [UInt8(x * 3 & 0xff), UInt8(y * 5 & 0xff), 90] }
        let plain = Self.rgb(64, 48, pixels)
        func rgb(_ extra: [(String, [UInt8])]) -> [UInt8] {
            Self.png(width: 64, height: 48, colorType: 2, extraChunks: extra) { y in (0..<64).flatMap { pixels($0, y) } }
        }
        // PNG: text, EXIF, time and density are skipped; gamma, palette and the IDAT sequence are not.
        let annotated = rgb([("tEXt", Array("Comment\u{0}hello".utf8)), ("eXIf", [0x4D, 0x4D, 0, 42]), ("pHYs", [0, 0, 11, 19, 0, 0, 11, 19, 1])])
        #expect(try digest(annotated) == digest(plain))
        #expect(try Thumbnail.make(from: annotated) == Thumbnail.make(from: plain))
        #expect(try digest(rgb([("gAMA", [0, 0, 0xB1, 0x8F])])) != digest(plain))
        #expect(try digest(plain + [0]) != digest(plain))   // bytes after IEND
        let palette = { (red: UInt8) in
            Self.png(width: 32, height: 32, colorType: 3, extraChunks: [("PLTE", [red, 0, 0, 0, 0, 255])]) { y in (0..<32).map { UInt8(($0 + y) & 1) } }
        }
        #expect(try digest(palette(255)) != digest(palette(200)))
        let chunks = Self.pngChunks(plain)
        let idat = try #require(chunks.first { $0.0 == "IDAT" }?.1)
        let split = { (between: [(String, [UInt8])]) in
            Self.pngFile(chunks.filter { $0.0 == "IHDR" } + [("IDAT", Array(idat.prefix(20)))] + between
                         + [("IDAT", Array(idat.dropFirst(20))), ("IEND", [])])
        }
        #expect(try digest(split([])) != digest(split([("tEXt", Array("a\u{0}b".utf8))])))
        #expect(try digest(split([])) != digest(plain))

        // JPEG (a thumbnail is one): EXIF, XMP and comments are skipped; APP14 and the tables are not.
        let jpeg = try Thumbnail.make(from: plain)
        func inserted(_ segment: [UInt8]) -> [UInt8] { Array(jpeg.prefix(2)) + segment + jpeg.dropFirst(2) }
        func segment(_ marker: UInt8, _ body: [UInt8]) -> [UInt8] { [0xFF, marker, UInt8((body.count + 2) >> 8), UInt8((body.count + 2) & 0xff)] + body }
        let edited = inserted(segment(0xE1, Array("Exif\u{0}\u{0}MM".utf8)) + segment(0xFE, Array("re-shared".utf8)))
        #expect(try digest(edited) == digest(jpeg))
        #expect(try Thumbnail.make(from: edited) == Thumbnail.make(from: jpeg))
        #expect(try digest(inserted(segment(0xEE, Array("Adobe".utf8) + [0, 100, 0, 0, 0, 0, 1]))) != digest(jpeg))
        var table = jpeg
        let dqt = try #require((0..<table.count - 1).first { table[$0] == 0xFF && table[$0 + 1] == 0xDB })
        table[dqt + 6] ^= 1
        #expect(try digest(table) != digest(jpeg))
        #expect(try digest(jpeg + [0xFF, 0xD9]) != digest(jpeg))
        #expect(Thumbnail.pictureDigest(of: Array("GIF89a not a JPEG or PNG".utf8)) == nil)
    }

    /// A TIFF structure (EXIF) whose IFD0 holds `entries` (tag, type, count, value), in `order`.
    static func tiff(littleEndian: Bool = false, entries: [(UInt16, UInt16, UInt32, UInt32)]) -> [UInt8] {
        func u16(_ v: UInt16) -> [UInt8] { littleEndian ? [UInt8(v & 0xff), UInt8(v >> 8)] : [UInt8(v >> 8), UInt8(v & 0xff)] }
        func u32(_ v: UInt32) -> [UInt8] { littleEndian ? Array(bigEndian(v).reversed()) : bigEndian(v) }
        // A SHORT value sits in the first two bytes of the value field.
        let body = entries.flatMap { tag, type, count, value in u16(tag) + u16(type) + u32(count) + (type == 3 ? u16(UInt16(value)) + [0, 0] : u32(value)) }
        return (littleEndian ? [0x49, 0x49] : [0x4D, 0x4D]) + u16(42) + u32(8) + u16(UInt16(entries.count)) + body + u32(0)
    }

    static func orientationTIFF(_ value: UInt32, littleEndian: Bool = false) -> [UInt8] {
        tiff(littleEndian: littleEndian, entries: [(0x010F, 2, 4, 0), (0x0112, 3, 1, value), (0x0131, 2, 4, 0)])
    }

    @Test("EXIF orientation: read from a JPEG's APP1 or a PNG's eXIf, in either byte order; malformed EXIF reads as 1")
    func orientationParsing() throws {
        let plain = Self.rgb(8, 4) { x, y in [UInt8(x), UInt8(y), 0] }
        let jpeg = try Thumbnail.make(from: plain)
        func withAPP1(_ body: [UInt8]) -> [UInt8] {
            Array(jpeg.prefix(2)) + [0xFF, 0xE1, UInt8((body.count + 2) >> 8), UInt8((body.count + 2) & 0xff)] + body + jpeg.dropFirst(2)
        }
        let exif = Array("Exif".utf8) + [0, 0]
        for value in 1...8 {
            #expect(Thumbnail.orientation(of: withAPP1(exif + Self.orientationTIFF(UInt32(value)))) == value)
            #expect(Thumbnail.orientation(of: withAPP1(exif + Self.orientationTIFF(UInt32(value), littleEndian: true))) == value)
        }
        let png = Self.png(width: 8, height: 4, colorType: 2, extraChunks: [("eXIf", Self.orientationTIFF(6, littleEndian: true))]) { _ in
            [UInt8](repeating: 7, count: 24)
        }
        #expect(Thumbnail.orientation(of: png) == 6)
        #expect(Thumbnail.orientation(of: jpeg) == 1 && Thumbnail.orientation(of: plain) == 1)
        let good = Self.orientationTIFF(6)
        var wrongType = good; wrongType[8 + 2 + 12 + 3] = 4        // LONG, not SHORT
        var wrongCount = good; wrongCount[8 + 2 + 12 + 7] = 2      // two values
        var pastEnd = good; pastEnd[7] = 0xF0                       // IFD0 beyond the segment
        var hugeCount = good; hugeCount[8] = 0xFF; hugeCount[9] = 0xFF   // 65535 entries
        for malformed in [Self.orientationTIFF(9), Self.orientationTIFF(0), wrongType, wrongCount, pastEnd, hugeCount,
                          Array(good.prefix(20)), [0x4D, 0x4D, 0, 43] + good.dropFirst(4), [0x49, 0x4D] + good.dropFirst(2), []] {
            #expect(Thumbnail.orientation(of: withAPP1(exif + malformed)) == 1)
        }
        // Not EXIF (XMP in APP1): not read.
        #expect(Thumbnail.orientation(of: withAPP1(Array("http://ns.adobe.com/xap/1.0/\u{0}".utf8) + good)) == 1)
    }

    @Test("a thumbnail is turned as the EXIF orientation says the image is shown, all eight ways")
    func orientedThumbnails() throws {
        let (w, h) = (24, 16)
        let pixel = { (x: Int, y: Int) -> [UInt8] in [UInt8(x * 10), UInt8(y * 15), UInt8((x + y) * 5)] }
        // The source pixel shown at (x, y) of the displayed image, by orientation (TIFF 6.0 tag 274).
        let shown: [Int: (Int, Int) -> (Int, Int)] = [
            1: { x, y in (x, y) }, 2: { x, y in (w - 1 - x, y) }, 3: { x, y in (w - 1 - x, h - 1 - y) }, 4: { x, y in (x, h - 1 - y) },
            5: { x, y in (y, x) }, 6: { x, y in (y, h - 1 - x) }, 7: { x, y in (w - 1 - y, h - 1 - x) }, 8: { x, y in (w - 1 - y, x) },
        ]
        for orientation in 1...8 {
            let stored = Self.png(width: w, height: h, colorType: 2, extraChunks: [("eXIf", Self.orientationTIFF(UInt32(orientation)))]) { y in
                (0..<w).flatMap { pixel($0, y) }
            }
            let (width, height) = orientation >= 5 ? (h, w) : (w, h)
            let upright = Self.rgb(width, height) { x, y in let (sx, sy) = shown[orientation]!(x, y); return pixel(sx, sy) }
            let thumbnail = try Thumbnail.make(from: stored)
            #expect(thumbnail == (try Thumbnail.make(from: upright)), "orientation \(orientation)")
            #expect(Self.jpegSize(thumbnail).map { [$0.0, $0.1] } == [width, height])
        }
        // The picture digest tells orientations apart (they make different thumbnails), and an
        // explicit 1 from none (they make the same).
        let jpeg = try Thumbnail.make(from: Self.rgb(w, h, pixel))
        func withAPP1(_ body: [UInt8]) -> [UInt8] {
            Array(jpeg.prefix(2)) + [0xFF, 0xE1, UInt8((body.count + 2) >> 8), UInt8((body.count + 2) & 0xff)] + body + jpeg.dropFirst(2)
        }
        let exif = Array("Exif".utf8) + [0, 0]
        let digests = (1...8).map { Thumbnail.pictureDigest(of: withAPP1(exif + Self.orientationTIFF(UInt32($0)))) }
        #expect(Set(digests).count == 8)
        #expect(digests[0] == Thumbnail.pictureDigest(of: jpeg))
        #expect(Self.jpegSize(try Thumbnail.make(from: withAPP1(exif + Self.orientationTIFF(6)))).map { [$0.0, $0.1] } == [h, w])
    }
}
