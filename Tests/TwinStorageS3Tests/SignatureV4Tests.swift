import Foundation
import Testing
@testable import TwinStorageS3

/// Known answers for the signer: AWS's published examples and requests signed by botocore
/// (Resources/make_sigv4_vectors.py writes them and checks the published ones against botocore).
@Suite("SignatureV4")
struct SignatureV4Tests {
    struct Vector: Decodable, CustomTestStringConvertible, Sendable {
        var name: String
        var accessKey: String
        var secretKey: String
        var sessionToken: String?
        var region: String
        var service: String
        var timestamp: String
        var method: String
        var path: String
        var query: [[String]]
        var headers: [[String]]
        var payloadHash: String
        var canonicalRequest: String
        var signature: String

        var testDescription: String { name }

        var signer: SignatureV4 {
            SignatureV4(credentials: .init(accessKey: accessKey, secretKey: secretKey, sessionToken: sessionToken),
                        region: region, service: service)
        }

        func request(including added: Bool) -> SignatureV4.Request {
            let headers = headers.filter { added || !["x-amz-date", "x-amz-security-token"].contains($0[0]) }
            return SignatureV4.Request(method: method, path: path, query: query.map { ($0[0], $0[1]) },
                                       headers: headers.map { ($0[0], $0[1]) }, payloadHash: payloadHash)
        }
    }

    static let vectors: [Vector] = {
        let url = Bundle.module.url(forResource: "sigv4-vectors", withExtension: "json", subdirectory: "Resources")!
        return try! JSONDecoder().decode([Vector].self, from: Data(contentsOf: url))
    }()

    @Test("canonical request and signature", arguments: vectors)
    func knownAnswer(_ vector: Vector) {
        let result = vector.signer.signature(vector.request(including: true), timestamp: vector.timestamp)
        #expect(result.canonicalRequest == vector.canonicalRequest)
        #expect(result.signature == vector.signature)
    }

    @Test("sign adds x-amz-date, any session token and the Authorization header", arguments: vectors)
    func headers(_ vector: Vector) throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let digits = Array(vector.timestamp.utf8).filter { (48...57).contains($0) }.map { Int($0) - 48 }
        func number(_ range: Range<Int>) -> Int { digits[range].reduce(0) { $0 * 10 + $1 } }
        let date = try #require(calendar.date(from: DateComponents(year: number(0..<4), month: number(4..<6), day: number(6..<8),
                                                                     hour: number(8..<10), minute: number(10..<12), second: number(12..<14))))
        #expect(SignatureV4.timestamp(date) == vector.timestamp)
        let added = vector.signer.sign(vector.request(including: false), at: date)
        let authorization = try #require(added.first { $0.name == "Authorization" }?.value)
        #expect(authorization.hasPrefix("AWS4-HMAC-SHA256 Credential=\(vector.accessKey)/\(vector.timestamp.prefix(8))/\(vector.region)/\(vector.service)/aws4_request, "))
        #expect(authorization.hasSuffix("Signature=\(vector.signature)"))
        #expect(added.contains { $0.name == "x-amz-date" && $0.value == vector.timestamp })
        #expect(added.contains { $0.name == "x-amz-security-token" } == (vector.sessionToken != nil))
    }

    @Test("a changed byte anywhere changes the signature")
    func tampering() {
        let vector = Self.vectors[2]
        let original = vector.signer.signature(vector.request(including: true), timestamp: vector.timestamp).signature
        var request = vector.request(including: true)
        request.path += "x"
        #expect(vector.signer.signature(request, timestamp: vector.timestamp).signature != original)
        var other = vector.signer
        other.credentials.secretKey += "x"
        #expect(other.signature(vector.request(including: true), timestamp: vector.timestamp).signature != original)
        #expect(vector.signer.signature(vector.request(including: true), timestamp: "20261207T051501Z").signature != original)
    }
}
