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
}
