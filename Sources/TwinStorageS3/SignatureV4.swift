import Crypto
import Foundation

/// AWS Signature Version 4 for requests signed in the `Authorization` header
/// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html).
///
/// S3 flavour: the path is encoded once, as given (S3 does not normalise it), and the caller
/// supplies the payload's SHA-256 (sending it as `x-amz-content-sha256` too, as S3 requires).
public struct SignatureV4: Sendable {
    public struct Credentials: Sendable {
        public var accessKey: String
        public var secretKey: String
        /// For temporary credentials (`AWS_SESSION_TOKEN`); signed as `x-amz-security-token`.
        public var sessionToken: String?

        public init(accessKey: String, secretKey: String, sessionToken: String? = nil) {
            self.accessKey = accessKey
            self.secretKey = secretKey
            self.sessionToken = sessionToken
        }
    }

    public var credentials: Credentials
    public var region: String
    public var service: String

    public init(credentials: Credentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// A request as it is signed: `path` unencoded (`/bucket/key`), `query` and `headers` as sent.
    public struct Request: Sendable {
        public var method: String
        public var path: String
        public var query: [(name: String, value: String)]
        /// Every header to sign, `host` among them.
        public var headers: [(name: String, value: String)]
        /// Lowercase hex SHA-256 of the body (or `UNSIGNED-PAYLOAD`).
        public var payloadHash: String

        public init(method: String, path: String, query: [(name: String, value: String)] = [],
                    headers: [(name: String, value: String)], payloadHash: String) {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers
            self.payloadHash = payloadHash
        }
    }

    /// The headers to add to `request` at `date`: `x-amz-date`, `x-amz-security-token` with
    /// temporary credentials, and `Authorization`.
    public func sign(_ request: Request, at date: Date) -> [(name: String, value: String)] {
        let timestamp = Self.timestamp(date)
        var added = [("x-amz-date", timestamp)]
        if let token = credentials.sessionToken { added.append(("x-amz-security-token", token)) }
        var signed = request
        signed.headers += added
        let parts = signature(signed, timestamp: timestamp)
        let authorization = "AWS4-HMAC-SHA256 Credential=\(credentials.accessKey)/\(parts.scope), "
            + "SignedHeaders=\(parts.signedHeaders), Signature=\(parts.signature)"
        return added + [("Authorization", authorization)]
    }

    /// The steps of signing, exposed for tests against published intermediate values. `request`
    /// already carries `x-amz-date` (and any token) among its headers.
    public func signature(_ request: Request, timestamp: String) -> (canonicalRequest: String, stringToSign: String,
                                                                      scope: String, signedHeaders: String, signature: String) {
        var headers: [String: [String]] = [:]
        for header in request.headers {
            headers[header.name.lowercased(), default: []].append(Self.trimmed(header.value))
        }
        let names = headers.keys.sorted()
        let signedHeaders = names.joined(separator: ";")
        let canonicalHeaders = names.map { "\($0):\(headers[$0]!.joined(separator: ","))\n" }.joined()
        let pairs: [(name: String, value: String)] = request.query.map {
            (Self.encode($0.name, slash: true), Self.encode($0.value, slash: true))
        }
        let sorted = pairs.sorted { $0.name != $1.name ? $0.name < $1.name : $0.value < $1.value }
        let query = sorted.map { $0.name + "=" + $0.value }.joined(separator: "&")
        let path = request.path.isEmpty ? "/" : Self.encode(request.path, slash: false)
        let canonicalRequest = [request.method, path, query, canonicalHeaders, signedHeaders, request.payloadHash]
            .joined(separator: "\n")
        let day = String(timestamp.prefix(8))
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = ["AWS4-HMAC-SHA256", timestamp, scope, Self.hex(SHA256.hash(data: Data(canonicalRequest.utf8)))]
            .joined(separator: "\n")
        var key = SymmetricKey(data: Data(("AWS4" + credentials.secretKey).utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        let signature = Self.hex(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: key))
        return (canonicalRequest, stringToSign, scope, signedHeaders, signature)
    }

    /// `YYYYMMDD'T'HHMMSS'Z'` in UTC.
    public static func timestamp(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%04d%02d%02dT%02d%02d%02dZ", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
    }

    /// RFC 3986 percent-encoding of everything but unreserved characters (and `/` in paths).
    public static func encode(_ text: String, slash: Bool) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(Character(UnicodeScalar(byte)))
            case UInt8(ascii: "/") where !slash:
                out.append("/")
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    /// Leading and trailing spaces removed, inner runs of spaces collapsed to one.
    private static func trimmed(_ value: String) -> String {
        value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// Lowercase hex SHA-256 of `bytes`: a payload hash.
    public static func payloadHash(_ bytes: some DataProtocol) -> String { hex(SHA256.hash(data: bytes)) }
}
