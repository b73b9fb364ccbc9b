import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MeridianCore
import MeridianDynamo
import MeridianNode
import MeridianStorage
import NIOCore
import Testing
@testable import MeridianHTTP

/// AWS Signature Version 4 against vectors of AWS's published test suite (credentials
/// AKIDEXAMPLE / wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, 2015-08-30T12:36:00Z; the
/// signatures were checked against botocore's signer), and the endpoint in router tests.
struct SignatureV4Tests {
    static let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    static let amzDate = "20150830T123600Z"
    static let emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    static func authorization(_ signedHeaders: [String], service: String = "service") -> SignatureV4.Authorization {
        SignatureV4.Authorization(accessKeyID: "AKIDEXAMPLE", date: "20150830", region: "us-east-1", service: service, signedHeaders: signedHeaders, signature: "")
    }

    @Test func getVanilla() {
        let request = SignatureV4.SignedRequest(method: "GET", path: "/", query: "",
                                                headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", Self.amzDate)], body: [])
        let authorization = Self.authorization(["host", "x-amz-date"])
        #expect(SignatureV4.canonicalRequest(request, signedHeaders: authorization.signedHeaders, payloadHash: Self.emptyHash)
            == "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\(Self.emptyHash)")
        #expect(SignatureV4.signature(of: request, authorization: authorization, amzDate: Self.amzDate, payloadHash: Self.emptyHash, secret: Self.secret)
            == "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
    }

    @Test func queryParametersAreSortedByName() {
        let request = SignatureV4.SignedRequest(method: "GET", path: "/", query: "Param2=value2&Param1=value1",
                                                headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", Self.amzDate)], body: [])
        #expect(SignatureV4.signature(of: request, authorization: Self.authorization(["host", "x-amz-date"]), amzDate: Self.amzDate,
                                      payloadHash: Self.emptyHash, secret: Self.secret)
            == "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")
    }

    @Test func headerValuesAreTrimmedAndInnerSpacesCollapsed() {
        let request = SignatureV4.SignedRequest(method: "GET", path: "/", query: "",
                                                headers: [("Host", "example.amazonaws.com"), ("My-Header1", "value1"), ("My-Header2", "\"a   b   c\""),
                                                          ("X-Amz-Date", Self.amzDate)], body: [])
        #expect(SignatureV4.signature(of: request, authorization: Self.authorization(["host", "my-header1", "my-header2", "x-amz-date"]),
                                      amzDate: Self.amzDate, payloadHash: Self.emptyHash, secret: Self.secret)
            == "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736")
    }

    @Test func aDynamoDBRequestSignsItsTargetAndBody() {
        let body = Array("{}".utf8)
        let request = SignatureV4.SignedRequest(method: "POST", path: "/", query: "", headers: [
            ("Host", "dynamodb.us-east-1.amazonaws.com"), ("X-Amz-Date", Self.amzDate), ("X-Amz-Target", "DynamoDB_20120810.ListTables"),
            ("Content-Type", "application/x-amz-json-1.0"),
        ], body: body)
        let hash = SignatureV4.hex(SHA256.hash(data: Data(body)))
        #expect(SignatureV4.signature(of: request, authorization: Self.authorization(["content-type", "host", "x-amz-date", "x-amz-target"], service: "dynamodb"),
                                      amzDate: Self.amzDate, payloadHash: hash, secret: Self.secret)
            == "75214f17608dbd636679e18f6f89744844ae96fcd228b8147167152488d817de")
    }

    @Test func theSigningKeyChainsDateRegionAndService() {
        // AWS's documented example: IAM in us-east-1 on 2015-08-30.
        let key = SignatureV4.signingKey(secret: Self.secret, date: "20150830", region: "us-east-1", service: "iam")
        #expect(key.withUnsafeBytes { SignatureV4.hex($0) } == "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9")
    }

    @Test func datesConvertBothWays() {
        #expect(SignatureV4.epochSeconds("20150830T123600Z") == 1_440_938_160)
        #expect(SignatureV4.amzDateText(1_440_938_160) == "20150830T123600Z")
        #expect(SignatureV4.epochSeconds("2015-08-30T12:36:00Z") == nil)
    }

    /// Signs a request as an SDK would, at `seconds` since the epoch.
    static func signed(_ target: String, body: String, host: String = "127.0.0.1:7001", accessKey: String, secret: String, seconds: Int64) -> SignatureV4.SignedRequest {
        let amzDate = SignatureV4.amzDateText(seconds)
        var request = SignatureV4.SignedRequest(method: "POST", path: "/", query: "", headers: [
            ("host", host), ("x-amz-date", amzDate), ("x-amz-target", target), ("content-type", "application/x-amz-json-1.0"),
        ], body: Array(body.utf8))
        let authorization = SignatureV4.Authorization(accessKeyID: accessKey, date: String(amzDate.prefix(8)), region: "us-east",
                                                      service: "dynamodb", signedHeaders: ["content-type", "host", "x-amz-date", "x-amz-target"], signature: "")
        let signature = SignatureV4.signature(of: request, authorization: authorization, amzDate: amzDate,
                                              payloadHash: SignatureV4.hex(SHA256.hash(data: Data(body.utf8))), secret: secret)
        request.headers.append(("authorization", "AWS4-HMAC-SHA256 Credential=\(accessKey)/\(authorization.scope), SignedHeaders=\(authorization.signedHeaders.joined(separator: ";")), Signature=\(signature)"))
        return request
    }

    @Test func verificationAcceptsTheRightSecretAndRefusesEverythingElse() throws {
        let now: Int64 = 1_800_000_000
        let good = Self.signed("DynamoDB_20120810.ListTables", body: "{}", accessKey: "app", secret: "s3cret", seconds: now)
        #expect(try SignatureV4.verify(good, nowSeconds: now) { $0 == "app" ? "s3cret" : nil } == "app")
        func refusal(_ request: SignatureV4.SignedRequest, now: Int64 = now) -> DynamoError? {
            #expect(throws: DynamoError.self) { try SignatureV4.verify(request, nowSeconds: now) { $0 == "app" ? "s3cret" : nil } }
        }
        #expect(refusal(Self.signed("DynamoDB_20120810.ListTables", body: "{}", accessKey: "app", secret: "wrong", seconds: now))?.type == "InvalidSignatureException")
        #expect(refusal(Self.signed("DynamoDB_20120810.ListTables", body: "{}", accessKey: "stranger", secret: "s3cret", seconds: now))?.type == "UnrecognizedClientException")
        let late = refusal(good, now: now + 16 * 60)
        #expect(late?.type == "InvalidSignatureException")
        #expect(late?.message.hasPrefix("Signature expired") == true)
        var tampered = good
        tampered.body = Array(#"{"Limit": 1}"#.utf8)
        #expect(refusal(tampered)?.type == "InvalidSignatureException")
        var retargeted = good
        retargeted.headers[2] = ("x-amz-target", "DynamoDB_20120810.DeleteTable")
        #expect(refusal(retargeted)?.type == "InvalidSignatureException")
        var anonymous = good
        anonymous.headers.removeAll { $0.name == "authorization" }
        #expect(refusal(anonymous)?.type == "MissingAuthenticationTokenException")
    }

    @Test func theSecretOfATokenIsDerivedAndRevealsNothingOfIt() {
        let secret = AccessControl.sigv4Secret(forToken: "abc")
        #expect(secret.count == 64)
        #expect(secret == AccessControl.sigv4Secret(forToken: "abc"))
        #expect(secret != AccessControl.sigv4Secret(forToken: "abd"))
        #expect(!secret.contains("abc"))
    }
}

/// The DynamoDB endpoint through the router: signatures, roles, operations and DynamoDB's
/// error shape, over an in-memory region.
struct DynamoEndpointTests {
    static let adminToken = "admin-token-0123456789"
    static let readToken = "read-token-0123456789"

    static func withEndpoint(_ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let accessControl = try AccessControl(AccessControl.File(tokens: [
            .init(name: "ops", role: .admin, sha256: AccessControl.hash(token: adminToken), sigv4Secret: AccessControl.sigv4Secret(forToken: adminToken)),
            .init(name: "viewer", role: .read, sha256: AccessControl.hash(token: readToken), sigv4Secret: AccessControl.sigv4Secret(forToken: readToken)),
        ]))
        let node = try Node(cluster: APITests.cluster, region: APITests.region, storage: InMemoryStorage())
        let app = Application(router: MeridianAPI(node: node, operations: OperationsOptions(accessControl: accessControl)).router())
        try await app.test(.router) { client in try await body(client) }
        await node.shutdown()
    }

    /// Sends a signed DynamoDB request; returns the status and the body as JSON.
    static func send(_ client: any TestClientProtocol, _ operation: String, _ body: String, token: String = adminToken,
                     accessKey: String = "ops") async throws -> (HTTPResponse.Status, JSONValue) {
        let signed = SignatureV4Tests.signed("DynamoDB_20120810.\(operation)", body: body, host: "localhost", accessKey: accessKey,
                                             secret: AccessControl.sigv4Secret(forToken: token), seconds: Int64(Node.systemWallMilliseconds() / 1000))
        var headers: HTTPFields = [:]
        for (name, value) in signed.headers { headers[HTTPField.Name(name)!] = value }
        let response = try await client.execute(uri: "/", method: .post, headers: headers, body: ByteBuffer(string: body))
        let json = try JSONValue.parse(Array(response.body.readableBytesView))
        return (response.status, json)
    }

    @Test func tablesAndItemsWorkThroughTheEndpoint() async throws {
        try await Self.withEndpoint { client in
            let create = #"{"TableName": "Music", "BillingMode": "PAY_PER_REQUEST", "AttributeDefinitions": [{"AttributeName": "a", "AttributeType": "S"}, {"AttributeName": "y", "AttributeType": "N"}], "KeySchema": [{"AttributeName": "a", "KeyType": "HASH"}, {"AttributeName": "y", "KeyType": "RANGE"}]}"#
            let (created, description) = try await Self.send(client, "CreateTable", create)
            #expect(created == .ok)
            guard case .object(let members) = description, case .object(let table)? = members["TableDescription"] else { Issue.record("no TableDescription"); return }
            #expect(table["TableStatus"] == .string("ACTIVE"))
            for year in [1977, 1975, 1980] {
                let (status, _) = try await Self.send(client, "PutItem", #"{"TableName": "Music", "Item": {"a": {"S": "Queen"}, "y": {"N": "\#(year)"}}}"#)
                #expect(status == .ok)
            }
            let (_, page) = try await Self.send(client, "Query", #"{"TableName": "Music", "KeyConditionExpression": "a = :a", "ExpressionAttributeValues": {":a": {"S": "Queen"}}, "ScanIndexForward": false}"#)
            guard case .object(let result) = page, case .array(let items)? = result["Items"] else { Issue.record("no Items"); return }
            let years = items.compactMap { item -> JSONValue? in if case .object(let fields) = item, case .object(let year)? = fields["y"] { year["N"] } else { nil } }
            #expect(years == [.string("1980"), .string("1977"), .string("1975")])
        }
    }

    @Test func errorsHaveDynamoDBsShapeAndRolesApply() async throws {
        try await Self.withEndpoint { client in
            let (status, body) = try await Self.send(client, "GetItem", #"{"TableName": "Nothing", "Key": {"k": {"S": "x"}}}"#)
            #expect(status == .badRequest)
            #expect(body == .object(["__type": .string("com.amazonaws.dynamodb.v20120810#ResourceNotFoundException"),
                                     "message": .string("Requested resource not found: Table: Nothing not found")]))
            let (denied, deniedBody) = try await Self.send(client, "DeleteTable", #"{"TableName": "Music"}"#, token: Self.readToken, accessKey: "viewer")
            #expect(denied == .badRequest)
            guard case .object(let members) = deniedBody else { Issue.record("no error body"); return }
            #expect(members["__type"] == .string("com.amazon.coral.service#AccessDeniedException"))
            let (unknown, unknownBody) = try await Self.send(client, "FlyToTheMoon", "{}")
            #expect(unknown == .badRequest)
            guard case .object(let unknownMembers) = unknownBody else { Issue.record("no error body"); return }
            #expect(unknownMembers["__type"] == .string("com.amazon.coral.service#UnknownOperationException"))
            let (wrongKey, wrongKeyBody) = try await Self.send(client, "ListTables", "{}", token: "not-a-token")
            #expect(wrongKey == .badRequest)
            guard case .object(let wrongMembers) = wrongKeyBody else { Issue.record("no error body"); return }
            #expect(wrongMembers["__type"] == .string("com.amazon.coral.service#InvalidSignatureException"))
        }
    }

    @Test func aBearerTokenDoesNotOpenTheEndpointAndTheEndpointDoesNotOpenTheNativeAPI() async throws {
        try await Self.withEndpoint { client in
            let response = try await client.execute(uri: "/", method: .post,
                                                    headers: [.authorization: "Bearer \(Self.adminToken)", HTTPField.Name("X-Amz-Target")!: "DynamoDB_20120810.ListTables"],
                                                    body: ByteBuffer(string: "{}"))
            #expect(response.status == .badRequest)
            #expect(String(buffer: response.body).contains("IncompleteSignatureException"))
            let native = try await client.execute(uri: "/v1/tables", method: .get)
            #expect(native.status == .unauthorized)
        }
    }
}
