import Convergent
import Foundation
import Testing
import TwinProtocol

@Suite("Upload protocol JSON: tag lists and challenge leaves as parallel arrays")
struct WireTests {
    static func tag(_ seed: UInt8) -> Digest32 { Digest32(bytes: (0..<32).map { UInt8(truncatingIfNeeded: Int($0) &* 7 &+ Int(seed)) })! }

    static func object(_ json: Data) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
    }

    @Test("a begin request round-trips, its chunks as one hex string and a size array")
    func beginRequestRoundTrip() throws {
        let request = BeginUploadRequest(files: [
            FileAnnouncement(fileTag: Self.tag(1), chunks: [ChunkReference(tag: Self.tag(2), size: 100), ChunkReference(tag: Self.tag(3), size: 70_000)]),
            FileAnnouncement(fileTag: Self.tag(4), chunks: []),
        ])
        let json = try TwinProtocol.makeEncoder().encode(request)
        let files = try #require(try Self.object(json)["files"] as? [[String: Any]])
        #expect(files[0]["chunkTags"] as? String == Self.tag(2).hex + Self.tag(3).hex)
        #expect(files[0]["chunkSizes"] as? [Int] == [100, 70_000])
        #expect(files[1]["chunkTags"] as? String == "")
        let decoded = try TwinProtocol.makeDecoder().decode(BeginUploadRequest.self, from: json)
        #expect(decoded.files == request.files)
    }

    @Test("a begin response round-trips: missing tags, leaves in order, no challenge")
    func beginResponseRoundTrip() throws {
        let expires = Date(timeIntervalSince1970: 1_800_000_000)
        let leaves = [(0, 5), (0, 9), (3, 0), (1, 2)].map { ChallengeDescriptor.Leaf(chunk: $0, leaf: $1) }
        for challenge in [ChallengeDescriptor(id: Self.tag(9), leaves: leaves, expiresAt: expires), nil] {
            let response = BeginUploadResponse(id: "s1", missing: [Self.tag(5), Self.tag(6)], fileExists: [true, false],
                                               challenge: challenge, expiresAt: expires)
            let json = try TwinProtocol.makeEncoder().encode(response)
            let object = try Self.object(json)
            #expect(object["missing"] as? String == Self.tag(5).hex + Self.tag(6).hex)
            let decoded = try TwinProtocol.makeDecoder().decode(BeginUploadResponse.self, from: json)
            #expect(decoded.missing == response.missing)
            #expect(decoded.fileExists == [true, false])
            #expect(decoded.challenge?.leaves.map { [$0.chunk, $0.leaf] } == challenge?.leaves.map { [$0.chunk, $0.leaf] })
            #expect(decoded.challenge?.id == challenge?.id)
            if challenge != nil {
                let sent = try #require(object["challenge"] as? [String: Any])
                #expect(sent["chunks"] as? [Int] == [0, 0, 3, 1])
                #expect(sent["leaves"] as? [Int] == [5, 9, 0, 2])
            }
        }
    }

    static let malformedAnnouncements: [(String, String)] = [
        ("a tag list one digit short", #"{"fileTag":"\#(tag(1).hex)","chunkTags":"\#(tag(2).hex.dropLast())","chunkSizes":[10]}"#),
        ("a tag list that is not hex", #"{"fileTag":"\#(tag(1).hex)","chunkTags":"\#(String(repeating: "g", count: 64))","chunkSizes":[10]}"#),
        ("more sizes than tags", #"{"fileTag":"\#(tag(1).hex)","chunkTags":"\#(tag(2).hex)","chunkSizes":[10,20]}"#),
        ("fewer sizes than tags", #"{"fileTag":"\#(tag(1).hex)","chunkTags":"\#(tag(2).hex + tag(3).hex)","chunkSizes":[10]}"#),
        ("no sizes", #"{"fileTag":"\#(tag(1).hex)","chunkTags":"\#(tag(2).hex)"}"#),
        ("the old shape, an array of chunk objects", #"{"fileTag":"\#(tag(1).hex)","chunks":[{"tag":"\#(tag(2).hex)","size":10}]}"#),
    ]

    @Test("a malformed announcement is refused", arguments: malformedAnnouncements)
    func malformedAnnouncement(_ case: (name: String, json: String)) {
        // Lists of unequal length are well-formed JSON that disagrees (422 on the wire); the rest is malformed (400).
        #expect("\(`case`.name)") {
            try TwinProtocol.makeDecoder().decode(FileAnnouncement.self, from: Data(`case`.json.utf8))
        } throws: { error in
            `case`.name.contains("than tags") ? error is ParallelListMismatch : error is DecodingError
        }
    }

    @Test("a challenge whose chunk and leaf arrays differ in length is refused")
    func unevenChallenge() {
        let json = #"{"id":"\#(Self.tag(1).hex)","chunks":[0,1],"leaves":[3],"expiresAt":"2027-01-01T00:00:00Z"}"#
        #expect(throws: ParallelListMismatch.self) { try TwinProtocol.makeDecoder().decode(ChallengeDescriptor.self, from: Data(json.utf8)) }
    }

    @Test("TagList decodes what it encodes and nothing else", arguments: [0, 1, 3, 100])
    func tagListRoundTrip(count: Int) {
        let tags = (0..<count).map { Self.tag(UInt8(truncatingIfNeeded: $0)) }
        let text = TagList.encode(tags)
        #expect(text.utf8.count == 64 * count)
        #expect(TagList.decode(text) == tags)
        #expect(TagList.decode(text + "0") == nil)
    }
}
