import Crypto
import Foundation
import MeridianDynamo

/// AWS Signature Version 4, as the DynamoDB endpoint verifies it.
///
/// The client signs a canonical form of the request (method, path, query, the headers it
/// names, the SHA-256 of the body) with a key derived from its secret, the date, the
/// region and the service; the endpoint rebuilds the same canonical form from what it
/// received, derives the key from the secret it holds for the access key id, and compares
/// signatures in constant time. The region in the credential scope is not checked (a
/// client names whatever region its SDK is configured with); the service must be
/// `dynamodb`; the request time must be within `clockSkewSecondsMax` of the server's.
struct SignatureV4: Sendable {
    /// How far a request's `X-Amz-Date` may be from the server's clock, in seconds.
    static let clockSkewSecondsMax: Int64 = 15 * 60
    /// The longest `Authorization` header read, in bytes.
    static let authorizationBytesMax = 4096
    static let algorithm = "AWS4-HMAC-SHA256"

    /// The parts of an `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...` header.
    struct Authorization: Sendable, Equatable {
        var accessKeyID: String
        /// `yyyyMMdd`.
        var date: String
        var region: String
        var service: String
        /// Lower-case header names, as the client listed them.
        var signedHeaders: [String]
        /// Lower-case hex.
        var signature: String

        var scope: String { "\(date)/\(region)/\(service)/aws4_request" }
    }

    /// What of a request the signature covers.
    struct SignedRequest: Sendable {
        var method: String
        /// The path as received (percent-encoded).
        var path: String
        /// The query string as received, without `?`.
        var query: String
        /// Every header, names in any case (`host` included).
        var headers: [(name: String, value: String)]
        var body: [UInt8]
    }

    static func incomplete(_ message: String) -> DynamoError { DynamoError("IncompleteSignatureException", message) }

    /// Parses the `Authorization` header.
    static func parseAuthorization(_ header: String) throws(DynamoError) -> Authorization {
        guard header.utf8.count <= authorizationBytesMax else { throw incomplete("The Authorization header is longer than \(authorizationBytesMax) bytes") }
        guard header.hasPrefix(algorithm + " ") else {
            throw incomplete("Authorization header requires the \(algorithm) algorithm; got '\(header.prefix(40))'")
        }
        var parts: [String: String] = [:]
        for part in header.dropFirst(algorithm.count + 1).split(separator: ",") {
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            guard let equals = trimmed.firstIndex(of: "=") else { continue }
            parts[String(trimmed[..<equals])] = String(trimmed[trimmed.index(after: equals)...])
        }
        let missing = ["Credential", "SignedHeaders", "Signature"].filter { parts[$0] == nil }
        guard missing.isEmpty else {
            throw incomplete(missing.map { "Authorization header requires '\($0)' parameter." }.joined(separator: " ") + " Authorization=\(header.prefix(200))")
        }
        let scope = parts["Credential"]!.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard scope.count == 5, scope[4] == "aws4_request", scope[1].count == 8, scope[1].allSatisfy(\.isNumber), !scope[0].isEmpty else {
            throw incomplete("Credential should be of the form <access key id>/<yyyyMMdd>/<region>/<service>/aws4_request; got '\(parts["Credential"]!.prefix(200))'")
        }
        let signedHeaders = parts["SignedHeaders"]!.split(separator: ";").map { $0.lowercased() }
        return Authorization(accessKeyID: scope[0], date: scope[1], region: scope[2], service: scope[3],
                             signedHeaders: signedHeaders, signature: parts["Signature"]!.lowercased())
    }

    /// The canonical request the signature is computed over.
    static func canonicalRequest(_ request: SignedRequest, signedHeaders: [String], payloadHash: String) -> String {
        var values: [String: [String]] = [:]
        for (name, value) in request.headers { values[name.lowercased(), default: []].append(collapsedSpaces(value)) }
        let canonicalHeaders = signedHeaders.map { "\($0):\((values[$0] ?? []).joined(separator: ","))\n" }.joined()
        return [request.method, canonicalPath(request.path), canonicalQuery(request.query), canonicalHeaders,
                signedHeaders.joined(separator: ";"), payloadHash].joined(separator: "\n")
    }

    /// The string the signing key signs.
    static func stringToSign(amzDate: String, scope: String, canonicalRequest: String) -> String {
        [algorithm, amzDate, scope, hex(SHA256.hash(data: Data(canonicalRequest.utf8)))].joined(separator: "\n")
    }

    /// The signing key: HMAC-SHA256 chained over the date, region, service and `aws4_request`,
    /// starting from `AWS4` followed by the secret.
    static func signingKey(secret: String, date: String, region: String, service: String) -> SymmetricKey {
        var key = SymmetricKey(data: Data(("AWS4" + secret).utf8))
        for part in [date, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        return key
    }

    /// The hex signature of a request.
    static func signature(of request: SignedRequest, authorization: Authorization, amzDate: String, payloadHash: String, secret: String) -> String {
        let canonical = canonicalRequest(request, signedHeaders: authorization.signedHeaders, payloadHash: payloadHash)
        let text = stringToSign(amzDate: amzDate, scope: authorization.scope, canonicalRequest: canonical)
        let key = signingKey(secret: secret, date: authorization.date, region: authorization.region, service: authorization.service)
        return hex(HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: key))
    }

    /// Verifies a request's signature and returns the access key id that signed it.
    ///
    /// - Parameters:
    ///   - secret: the secret of an access key id, `nil` when the cluster knows no such key.
    ///   - nowSeconds: the server's time, in seconds since the Unix epoch.
    static func verify(_ request: SignedRequest, nowSeconds: Int64, secret: (String) -> String?) throws(DynamoError) -> String {
        func header(_ name: String) -> String? { request.headers.first { $0.name.lowercased() == name }?.value }
        guard let authorizationHeader = header("authorization") else {
            throw DynamoError("MissingAuthenticationTokenException", "Request is missing Authentication Token")
        }
        let authorization = try parseAuthorization(authorizationHeader)
        guard authorization.service == "dynamodb" else {
            throw DynamoError("InvalidSignatureException", "Credential should be scoped to correct service: 'dynamodb'. ")
        }
        guard let amzDate = header("x-amz-date"), let requestSeconds = epochSeconds(amzDate) else {
            throw incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header; Meridian reads X-Amz-Date (yyyyMMdd'T'HHmmss'Z')")
        }
        guard authorization.signedHeaders.contains("host"), authorization.signedHeaders.contains("x-amz-date") else {
            throw DynamoError("InvalidSignatureException", "The signed headers must include host and x-amz-date")
        }
        guard amzDate.hasPrefix(authorization.date) else {
            throw DynamoError("InvalidSignatureException", "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '\(authorization.date)' != '\(amzDate.prefix(8))', from '\(amzDate)'.")
        }
        guard abs(requestSeconds - nowSeconds) <= clockSkewSecondsMax else {
            throw DynamoError("InvalidSignatureException", "Signature expired: \(amzDate) is now \(requestSeconds < nowSeconds ? "earlier" : "later") than the server's time \(amzDateText(nowSeconds)) by more than \(clockSkewSecondsMax / 60) minutes.")
        }
        if header("x-amz-security-token") != nil {
            throw DynamoError("UnrecognizedClientException", "The security token included in the request is invalid. (Meridian issues no session tokens: unset AWS_SESSION_TOKEN.)")
        }
        guard let secret = secret(authorization.accessKeyID) else {
            throw DynamoError("UnrecognizedClientException", "The security token included in the request is invalid.")
        }
        let payloadHash = hex(SHA256.hash(data: Data(request.body)))
        if let claimed = header("x-amz-content-sha256"), claimed.lowercased() != payloadHash {
            throw DynamoError("InvalidSignatureException", "The provided 'x-amz-content-sha256' header does not match what was computed.")
        }
        let expected = signature(of: request, authorization: authorization, amzDate: amzDate, payloadHash: payloadHash, secret: secret)
        guard constantTimeEqual(Array(expected.utf8), Array(authorization.signature.utf8)) else {
            throw DynamoError("InvalidSignatureException", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
        }
        return authorization.accessKeyID
    }

    // MARK: Canonical forms

    /// Each path segment percent-encoded again (what SigV4 asks of every service but S3).
    static func canonicalPath(_ path: String) -> String {
        guard !path.isEmpty else { return "/" }
        return path.split(separator: "/", omittingEmptySubsequences: false).map { uriEncode(String($0)) }.joined(separator: "/")
    }

    /// Parameters sorted by name then value, each name and value decoded then encoded.
    static func canonicalQuery(_ query: String) -> String {
        guard !query.isEmpty else { return "" }
        let pairs = query.split(separator: "&").map { pair -> (String, String) in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decoded(_ text: Substring) -> String { String(text).removingPercentEncoding ?? String(text) }
            return (uriEncode(decoded(parts[0])), parts.count > 1 ? uriEncode(decoded(parts[1])) : "")
        }
        return pairs.sorted { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    /// RFC 3986 encoding: unreserved characters stay, every other byte becomes `%XX`.
    static func uriEncode(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                result += String(format: "%%%02X", byte)
            }
        }
        return result
    }

    /// Trims a header value and collapses runs of spaces into one.
    static func collapsedSpaces(_ value: String) -> String {
        var result = ""
        var lastWasSpace = false
        for character in value.trimmingCharacters(in: .whitespaces) {
            if character == " " {
                if !lastWasSpace { result.append(" ") }
                lastWasSpace = true
            } else {
                result.append(character)
                lastWasSpace = false
            }
        }
        return result
    }

    /// Lower-case hex, by table (this runs several times per request).
    static func hex<D: Sequence>(_ bytes: D) -> String where D.Element == UInt8 {
        var text: [UInt8] = []
        text.reserveCapacity(64)
        for byte in bytes {
            text.append(hexDigits[Int(byte >> 4)])
            text.append(hexDigits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    static let hexDigits = Array("0123456789abcdef".utf8)

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }

    /// Seconds since the epoch of `yyyyMMdd'T'HHmmss'Z'`, or `nil`.
    static func epochSeconds(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        guard bytes.count == 16, bytes[8] == UInt8(ascii: "T"), bytes[15] == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int64? { Int64(String(decoding: bytes[range], as: UTF8.self)) }
        guard let year = number(0..<4), let month = number(4..<6), let day = number(6..<8),
              let hour = number(9..<11), let minute = number(11..<13), let second = number(13..<15),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        return daysFromCivil(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second
    }

    /// `yyyyMMdd'T'HHmmss'Z'` of seconds since the epoch.
    static func amzDateText(_ seconds: Int64) -> String {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let (year, month, day) = civilFromDays(days)
        let rest = seconds - days * 86_400
        return String(format: "%04lld%02lld%02lldT%02lld%02lld%02lldZ", year, month, day, rest / 3600, rest / 60 % 60, rest % 60)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civilFromDays(_ days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
