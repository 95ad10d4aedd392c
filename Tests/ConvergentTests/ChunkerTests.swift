import Convergent
import TestSupport
import Foundation
import Testing

@Suite("Chunking")
struct ChunkerTests {
    @Test("concatenated chunks equal the input", arguments: [0, 1, 100, 124 * 1024, 124 * 1024 + 1, 300_000, 1_000_003])
    func concatenationRestoresInput(length: Int) throws {
        var generator = SplitMix64(seed: UInt64(length) &+ 17)
        let input = randomBytes(length, using: &generator)
        let pieces = try chunks(of: input)
        #expect(pieces.flatMap { $0 } == input)
        #expect(pieces.allSatisfy { !$0.isEmpty && $0.count <= ChunkingParameters.twin.maximumSize })
    }

    @Test("property: any prefix of any structured or random input chunks losslessly", arguments: 0..<12)
    func propertyRandomInputs(seed: Int) throws {
        var generator = SplitMix64(seed: UInt64(seed))
        let fixtures = [ImageFixtures.jpeg().bytes, ImageFixtures.png().bytes, ImageFixtures.webp().bytes,
                        ImageFixtures.heif().bytes, randomBytes(400_000, using: &generator)]
        let base = fixtures[seed % fixtures.count]
        let cut = Int.random(in: 0...base.count, using: &generator)
        // Prefixes are truncated images; flipped bytes are corrupt ones.
        var input = Array(base.prefix(cut))
        if seed % 2 == 1, !input.isEmpty {
            for _ in 0..<8 { input[Int.random(in: 0..<input.count, using: &generator)] ^= 0xFF }
        }
        let pieces = try chunks(of: input)
        #expect(pieces.flatMap { $0 } == input)
        #expect(pieces.allSatisfy { !$0.isEmpty && $0.count <= ChunkingParameters.twin.maximumSize })
        #expect(try chunksReadInPieces(of: input, seed: UInt64(seed)) == pieces)
    }

    @Test("reads in random pieces through buffer refills chunk like the zero-copy path", arguments: 0..<3)
    func bufferedMatchesZeroCopy(kind: Int) throws {
        // Inputs several times the chunker's 1 MiB buffer, so refills and the compaction between them
        // run (the property test's inputs fit in one read).
        var generator = SplitMix64(seed: UInt64(kind) &+ 77)
        let input = switch kind {
        case 0: ImageFixtures.jpeg(scanBytes: 3_000_000).bytes
        case 1: ImageFixtures.png(idatChunks: 40, idatSize: 60_000).bytes
        default: randomBytes(3_000_000, using: &generator)
        }
        #expect(try chunksReadInPieces(of: input, seed: UInt64(kind)) == (try chunks(of: input)))
    }

    @Test("chunk sizes respect the bounds and average near the target on random data")
    func sizeDistribution() throws {
        let input = testStream("distribution", count: 8 << 20)
        let pieces = try chunks(of: input)
        let parameters = ChunkingParameters.twin
        #expect(pieces.dropLast().allSatisfy { $0.count >= parameters.minimumSize && $0.count <= parameters.maximumSize })
        let average = input.count / pieces.count
        #expect(average > parameters.minimumSize && average < 2 * parameters.averageSize, "average \(average)")
    }

    @Test("content-defined: an insertion near the start disturbs only nearby chunks")
    func shiftResistance() throws {
        let original = testStream("shift", count: 2 << 20)
        let shifted = Array(original.prefix(1000)) + [1, 2, 3, 4, 5] + Array(original.dropFirst(1000))
        let before = Set(try chunks(of: original))
        let after = try chunks(of: shifted)
        let shared = after.filter(before.contains).count
        #expect(shared >= after.count - 3, "only \(shared) of \(after.count) chunks survived a 5-byte insertion")
    }

    @Test("JPEG: a boundary falls exactly at the scan start, and metadata segments stand apart")
    func jpegBoundaries() throws {
        let image = ImageFixtures.jpeg()
        let cuts = boundaries(of: try chunks(of: image.bytes))
        #expect(cuts.contains(image.offsets["SOS"]!))
        #expect(cuts.contains(image.offsets["APP1"]!))
        #expect(cuts.contains(image.offsets["DQT"]!))
    }

    @Test("JPEG: a copy with edited EXIF shares every scan chunk with the original")
    func jpegMetadataEdit() throws {
        let original = try chunks(of: ImageFixtures.jpeg(exifComment: "camera").bytes)
        let edited = try chunks(of: ImageFixtures.jpeg(exifComment: "artist=someone else, much longer").bytes)
        let stripped = try chunks(of: ImageFixtures.jpeg(exifComment: nil).bytes)
        for copy in [edited, stripped] {
            let novel = copy.filter { !original.contains($0) }
            #expect(novel.reduce(0) { $0 + $1.count } < 8 * 1024, "a metadata edit re-stores \(novel.map(\.count)) bytes")
        }
    }

    @Test("PNG: boundaries around metadata chunks and at the IDAT run; text edits share the pixels")
    func pngBoundaries() throws {
        let image = ImageFixtures.png(texts: [String(repeating: "long text ", count: 200)])
        let cuts = boundaries(of: try chunks(of: image.bytes))
        #expect(cuts.contains(image.offsets["tEXt0"]!))
        #expect(cuts.contains(image.offsets["IDAT"]!))
        #expect(cuts.contains(image.offsets["IEND"]!))
        let edited = ImageFixtures.png(texts: ["Author=bob", "Comment=edited", "Software=x"])
        let original = try chunks(of: image.bytes)
        let novel = try chunks(of: edited.bytes).filter { !original.contains($0) }
        #expect(novel.reduce(0) { $0 + $1.count } < 4 * 1024, "text edit re-stores \(novel.map(\.count))")
    }

    @Test("WebP and HEIF: metadata edits share the payload")
    func riffAndBMFF() throws {
        let webp = try chunks(of: ImageFixtures.webp(exif: "one").bytes)
        let webpEdited = try chunks(of: ImageFixtures.webp(exif: "another exif").bytes)
        #expect(webpEdited.filter { !webp.contains($0) }.reduce(0) { $0 + $1.count } < 8 * 1024)
        let heif = ImageFixtures.heif(meta: "meta-a")
        let heifChunks = try chunks(of: heif.bytes)
        #expect(boundaries(of: heifChunks).contains(heif.offsets["mdat"]!))
        let heifEdited = try chunks(of: ImageFixtures.heif(meta: "meta-b, edited").bytes)
        #expect(heifEdited.filter { !heifChunks.contains($0) }.reduce(0) { $0 + $1.count } < 8 * 1024)
    }

    @Test("regions of an image in memory: offsets, kinds and types as the chunker reads them, up to the scan data")
    func regionsInMemory() {
        let jpeg = ImageFixtures.jpeg()
        let (jpegRegions, jpegEnd) = jpeg.bytes.withUnsafeBytes { ImageFormat.jpeg.regions(of: $0) }
        #expect(jpegRegions.map(\.region.type) == [0, 0xFFE0, 0xFFE1, 0xFFDB, 0xFFC0, 0xFFC4])
        #expect(jpegRegions.map(\.offset) == [0] + ["APP0", "APP1", "DQT", "SOF0", "DHT"].map { jpeg.offsets[$0]! })
        #expect(jpegRegions.allSatisfy { $0.region.kind == .metadata })
        #expect(jpegEnd == jpeg.offsets["SOS"]!, "the scan data runs to the end: not listed")

        let png = ImageFixtures.png(texts: ["a", "b"], idatChunks: 3, idatSize: 1000)
        let (pngRegions, pngEnd) = png.bytes.withUnsafeBytes { ImageFormat.png.regions(of: $0) }
        let types = ["IHDR", "tEXt", "tEXt", "IDAT", "IDAT", "IDAT", "IEND"].map { name in
            name.utf8.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        }
        #expect(pngRegions.map(\.region.type) == [0] + types)
        #expect(Region.fourCC("IDAT") == 0x4944_4154)
        #expect(pngRegions.map(\.region.kind) == [.metadata, .metadata, .metadata, .metadata, .payload, .payload, .payload, .metadata])
        #expect(pngRegions.map(\.region.continuesPayload) == [false, false, false, false, false, true, true, false])
        #expect(pngEnd == png.bytes.count)

        // A chunk whose length runs past the end is not listed; the parse ends where it starts.
        let truncated = Array(png.bytes.prefix(png.offsets["IDAT"]! + 100))
        let (cut, cutEnd) = truncated.withUnsafeBytes { ImageFormat.png.regions(of: $0) }
        #expect(cut.count == 4 && cutEnd == png.offsets["IDAT"]!)
        let (unknown, unknownEnd) = [UInt8](repeating: 7, count: 100).withUnsafeBytes { ImageFormat.unknown.regions(of: $0) }
        #expect(unknown.isEmpty && unknownEnd == 0)
    }

    @Test("format sniffing", arguments: [
        ([0xFF, 0xD8, 0xFF, 0xE0] as [UInt8], ImageFormat.jpeg),
        ([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], .png),
        (Array("RIFF\0\0\0\0WEBP".utf8), .webp),
        ([0, 0, 0, 24] + Array("ftypheic".utf8), .isoBMFF),
        (Array("GIF89a".utf8), .unknown),
        ([], .unknown),
    ])
    func sniffing(head: [UInt8], format: ImageFormat) {
        #expect(ImageFormat.sniff(head) == format)
    }

    @Test("corrupt structure falls back to content-defined chunking without error", arguments: [
        [0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x01] as [UInt8],  // segment length below its own 2 bytes
        [0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF],  // segment longer than the file
        [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x49, 0x44, 0x41, 0x54],
        [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 1, 0x00, 0x01, 0x02, 0x03],
        Array("RIFF\u{FF}\u{FF}\u{FF}\u{7F}WEBPVP8 ".utf8) + [0xFF, 0xFF, 0xFF, 0xFF],
        [0, 0, 0, 1] + Array("ftyp".utf8) + [0, 0, 0, 0, 0, 0, 0, 3],  // largesize below header size
        [0, 0, 0, 4] + Array("ftyp".utf8),  // box smaller than its header
    ])
    func corruptStructures(prefix: [UInt8]) throws {
        let input = prefix + testStream("corrupt-tail", count: 200_000)
        let pieces = try chunks(of: input)
        #expect(pieces.flatMap { $0 } == input)
    }

    @Test("streaming: a file far larger than the buffer chunks identically from a file and from memory")
    func fileSourceMatchesMemory() throws {
        let bytes = ImageFixtures.jpeg(scanBytes: 3_000_000).bytes
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("twin-chunker-\(UInt64.random(in: 0 ... .max)).jpg").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        var fromFile = Chunker(source: try FileByteSource(path: path))
        var pieces: [[UInt8]] = []
        while let chunk = try fromFile.next() { pieces.append(chunk.bytes) }
        #expect(pieces == (try chunks(of: bytes)))
        #expect(fromFile.format == .jpeg)
    }
}
