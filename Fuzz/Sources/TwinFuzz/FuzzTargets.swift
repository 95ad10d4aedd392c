import BLS12381
import Convergent
import Foundation
import KPABE
import TwinProtocol

/// # TwinFuzz
///
/// libFuzzer's entry point for every decoder that reads bytes a peer sent: the server's request
/// bodies and binary formats, and what a client downloads. Each target decodes and, where it
/// succeeds, checks the round trip that the format promises (a decoded value encodes back to the
/// same bytes, or parses back to the same value), so a decoder that accepts what it should refuse
/// fails as loudly as one that crashes. `TWIN_FUZZ_TARGET` names the target (`FuzzTarget`).
enum FuzzTarget: String, CaseIterable {
    case policy, abeKey = "abe-key", abeCiphertext = "abe-ciphertext", abeWrappedKey = "abe-wrapped-key"
    case abeParameters = "abe-parameters", g1, g2, gt, manifest, chunkBundle = "chunk-bundle"
    case ownershipProof = "ownership-proof", chunker, jsonRequests = "json-requests"

    static let selected: FuzzTarget = {
        guard let name = ProcessInfo.processInfo.environment["TWIN_FUZZ_TARGET"], let target = FuzzTarget(rawValue: name) else {
            fatalError("set TWIN_FUZZ_TARGET to one of: \(allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return target
    }()

    func run(_ bytes: [UInt8]) {
        switch self {
        case .policy:
            guard let policy = try? PolicyParser.parse(String(decoding: bytes, as: UTF8.self)) else { return }
            precondition(try! PolicyParser.parse(policy.description) == policy, "canonical text must parse back")
        case .abeKey:
            guard let key = try? DecryptionKey(decoding: bytes) else { return }
            precondition(key.encoded() == bytes, "a decoded key re-encodes to its bytes")
        case .abeCiphertext:
            guard let ciphertext = try? Ciphertext(decoding: bytes) else { return }
            precondition(ciphertext.encoded() == bytes, "a decoded ciphertext re-encodes to its bytes")
        case .abeWrappedKey:
            guard let wrapped = try? WrappedKey(decoding: bytes) else { return }
            precondition(wrapped.encoded() == bytes, "a decoded wrapped key re-encodes to its bytes")
        case .abeParameters:
            guard let parameters = try? PublicParameters(decoding: bytes) else { return }
            precondition(parameters.encoded() == bytes, "decoded parameters re-encode to their bytes")
        case .g1:
            guard let point = try? G1Affine(bytes: bytes) else { return }
            precondition((bytes.count == 48 ? point.compressedBytes : point.uncompressedBytes) == bytes,
                          "a decoded G1 point re-encodes to its bytes")
        case .g2:
            guard let point = try? G2Affine(bytes: bytes) else { return }
            precondition((bytes.count == 96 ? point.compressedBytes : point.uncompressedBytes) == bytes,
                          "a decoded G2 point re-encodes to its bytes")
        case .gt:
            guard let element = try? GT(bytes: bytes) else { return }
            precondition(element.bytes == bytes, "a decoded GT element re-encodes to its bytes")
        case .manifest:
            guard let manifest = try? Manifest(decoding: bytes) else { return }
            precondition(manifest.encoded() == bytes, "a decoded manifest re-encodes to its bytes")
        case .chunkBundle:
            guard let records = try? bytes.withUnsafeBytes({ try ChunkBundle.records(in: $0) }) else { return }
            var end = 0
            for record in records {
                precondition(record.range.lowerBound == end + ChunkBundle.recordHeaderSize, "records follow each other")
                end = record.range.upperBound
            }
            precondition(end == bytes.count, "records cover the body exactly")
        case .ownershipProof:
            guard let proof = try? OwnershipProof(decoding: bytes) else { return }
            precondition(proof.encoded() == bytes, "a decoded proof re-encodes to its bytes")
        case .chunker:
            var chunker = Chunker(source: MemoryByteSource(bytes), parameters: .twin)
            var joined: [UInt8] = []
            while let chunk = try! chunker.next() {
                precondition(!chunk.bytes.isEmpty && chunk.bytes.count <= Manifest.maximumChunkLength, "chunk sizes in range")
                joined += chunk.bytes
            }
            precondition(joined == bytes, "chunks cover the input exactly, in order")
            // The regions the scanner lists for an image in memory tile its start, up to `end`.
            let (regions, end) = bytes.withUnsafeBytes { ImageFormat.sniff(bytes).regions(of: $0) }
            var covered = 0
            for (offset, region) in regions {
                precondition(offset == covered && region.length.map { $0 > 0 } == true, "regions follow each other")
                covered += Int(region.length!)
            }
            precondition(covered == end && end <= bytes.count, "regions end where the listing says, inside the input")
        case .jsonRequests:
            // Every JSON body the server decodes, as it decodes them.
            let decoder = TwinProtocol.makeDecoder()
            let data = Data(bytes)
            _ = try? decoder.decode(RegisterRequest.self, from: data)
            _ = try? decoder.decode(LoginChallengeRequest.self, from: data)
            _ = try? decoder.decode(TokenRequest.self, from: data)
            _ = try? decoder.decode(GrantRequest.self, from: data)
            _ = try? decoder.decode(CommitRequest.self, from: data)
            if let begin = try? decoder.decode(BeginUploadRequest.self, from: data) {
                let again = try! decoder.decode(BeginUploadRequest.self, from: TwinProtocol.makeEncoder().encode(begin))
                precondition(again.files == begin.files, "an announcement survives a round trip")
            }
            if let challenge = try? decoder.decode(ChallengeDescriptor.self, from: data) {
                precondition(challenge.leaves.count == (try? decoder.decode(ChallengeDescriptor.self, from: TwinProtocol.makeEncoder().encode(challenge)))?.leaves.count)
            }
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = start.map { Array(UnsafeBufferPointer(start: $0, count: count)) } ?? []
    FuzzTarget.selected.run(bytes)
    return 0
}
