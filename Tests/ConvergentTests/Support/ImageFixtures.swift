/// Small images written byte by byte with real container structure (markers, lengths, CRCs) and
/// pseudo-random pixel payloads: enough for the chunker, which reads structure and never decodes.
enum ImageFixtures {
    struct Built {
        var bytes: [UInt8]
        /// Where named parts start, for boundary assertions.
        var offsets: [String: Int]
    }

    // MARK: JPEG

    static func jpeg(exifComment: String? = "camera", scanBytes: Int = 400_000, seed: String = "jpeg-scan") -> Built {
        var out: [UInt8] = [0xFF, 0xD8]
        var offsets: [String: Int] = [:]
        func segment(_ marker: UInt8, _ payload: [UInt8], name: String) {
            offsets[name] = out.count
            out += [0xFF, marker, UInt8((payload.count + 2) >> 8), UInt8((payload.count + 2) & 0xFF)] + payload
        }
        segment(0xE0, Array("JFIF\0".utf8) + [1, 1, 0, 0, 1, 0, 1, 0, 0], name: "APP0")
        if let exifComment {
            // An EXIF block large enough (> 1 KiB) to stand as its own chunk, as camera EXIF does.
            let exif = Array("Exif\0\0".utf8) + Array("MM\0*".utf8) + Array(exifComment.utf8)
                + testStream("exif-" + exifComment, count: 3000)
            segment(0xE1, exif, name: "APP1")
        }
        segment(0xDB, [0] + testStream("dqt", count: 64), name: "DQT")
        segment(0xC0, [8, 0, 16, 0, 16, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1], name: "SOF0")
        segment(0xC4, [0] + [UInt8](repeating: 1, count: 16) + Array(0..<16), name: "DHT")
        offsets["SOS"] = out.count
        out += [0xFF, 0xDA, 0, 12, 3, 1, 0, 2, 0x11, 3, 0x11, 0, 0x3F, 0]
        // Entropy-coded data: 0xFF is always stuffed with 0x00, as T.81 F.1.2.3 requires.
        for byte in testStream(seed, count: scanBytes) {
            out.append(byte)
            if byte == 0xFF { out.append(0) }
        }
        offsets["EOI"] = out.count
        out += [0xFF, 0xD9]
        return Built(bytes: out, offsets: offsets)
    }

    // MARK: PNG

    static func png(texts: [String] = ["Author=alice"], idatChunks: Int = 6, idatSize: Int = 60_000,
                    seed: String = "png-idat") -> Built {
        var out: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var offsets: [String: Int] = [:]
        func chunk(_ type: String, _ data: [UInt8], name: String) {
            offsets[name] = offsets[name] ?? out.count
            let typed = Array(type.utf8) + data
            out += be32(UInt32(data.count)) + typed + be32(crc32(typed))
        }
        chunk("IHDR", be32(64) + be32(64) + [8, 2, 0, 0, 0], name: "IHDR")
        for (index, text) in texts.enumerated() { chunk("tEXt", Array(text.utf8), name: "tEXt\(index)") }
        let pixels = testStream(seed, count: idatChunks * idatSize)
        for index in 0..<idatChunks {
            chunk("IDAT", Array(pixels[index * idatSize..<(index + 1) * idatSize]), name: "IDAT")
        }
        chunk("IEND", [], name: "IEND")
        return Built(bytes: out, offsets: offsets)
    }

    // MARK: WebP (RIFF)

    static func webp(exif: String? = "webp-exif", payload: Int = 200_000) -> Built {
        var body: [UInt8] = Array("WEBP".utf8)
        var offsets: [String: Int] = [:]
        func chunk(_ fourcc: String, _ data: [UInt8], name: String) {
            offsets[name] = 8 + body.count
            body += Array(fourcc.utf8) + le32(UInt32(data.count)) + data
            if data.count % 2 == 1 { body.append(0) }
        }
        chunk("VP8X", [0x08, 0, 0, 0, 63, 0, 0, 63, 0, 0], name: "VP8X")
        chunk("VP8 ", testStream("webp-vp8", count: payload), name: "VP8")
        if let exif { chunk("EXIF", Array(exif.utf8) + testStream(exif, count: 1500), name: "EXIF") }
        return Built(bytes: Array("RIFF".utf8) + le32(UInt32(body.count)) + body, offsets: offsets)
    }

    // MARK: ISO-BMFF (HEIF)

    static func heif(meta: String = "meta-1", mdat: Int = 300_000) -> Built {
        var out: [UInt8] = []
        var offsets: [String: Int] = [:]
        func box(_ type: String, _ data: [UInt8]) {
            offsets[type] = out.count
            out += be32(UInt32(8 + data.count)) + Array(type.utf8) + data
        }
        box("ftyp", Array("heic".utf8) + [0, 0, 0, 0] + Array("mif1heic".utf8))
        box("meta", Array(meta.utf8) + testStream(meta, count: 2000))
        box("mdat", testStream("heif-mdat", count: mdat))
        return Built(bytes: out, offsets: offsets)
    }

    static func be32(_ value: UInt32) -> [UInt8] { [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: value >> $0) } }
    static func le32(_ value: UInt32) -> [UInt8] { [0, 8, 16, 24].map { UInt8(truncatingIfNeeded: value >> $0) } }

    /// CRC-32 (ISO 3309, as PNG uses it).
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
}
