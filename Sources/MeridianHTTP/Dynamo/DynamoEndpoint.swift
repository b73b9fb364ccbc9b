import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import MeridianCore
import MeridianDynamo
import MeridianNode
import NIOCore
import NIOHTTP1

/// The DynamoDB endpoint of a region: `POST /` on the API port, AWS JSON 1.0
/// (`X-Amz-Target: DynamoDB_20120810.<Operation>`, `application/x-amz-json-1.0`).
///
/// Every request is authenticated here, not by the bearer-token middleware: AWS Signature
/// Version 4 with the token's name as the access key id and its `sigv4_secret` as the
/// secret (docs/dynamodb.md). Then the operation is validated by MeridianDynamo and
/// carried out by `DynamoService` over the node's region requests. Every failure is
/// answered in DynamoDB's error shape (`{"__type": ..., "message": ...}`); nothing is
/// thrown to the native API's error middleware.
struct DynamoEndpoint: Sendable {
    let node: Node
    let accessControl: AccessControl?
    let auditLog: AuditLog?

    static let path = "/"
    static let targetHeader = HTTPField.Name("X-Amz-Target")!
    static let requestIDHeader = HTTPField.Name("x-amzn-RequestId")!
    /// The consistency a read was served at: `strong`, `region` (the serving region's own
    /// copy, which holds every write that region accepted) or `eventual`.
    static let consistencyHeader = HTTPField.Name("Meridian-Consistency")!
    static let contentType = "application/x-amz-json-1.0"

    /// Whether a request is for this endpoint (the bearer-token middleware lets these through).
    static func handles(_ request: Request) -> Bool {
        request.method == .post && request.uri.path == path
    }

    @Sendable func handle(_ request: Request, _ context: BasicRequestContext) async -> Response {
        let requestID = Self.requestID()
        var operationName = "?"
        var principal: Principal?
        var body: ByteBuffer?
        var auditID: String?
        do {
            guard let target = request.headers[Self.targetHeader], target.hasPrefix(DynamoOperation.targetPrefix) else {
                throw DynamoError("UnknownOperationException", "Send X-Amz-Target: \(DynamoOperation.targetPrefix)<Operation> (the DynamoDB JSON 1.0 protocol)")
            }
            operationName = String(target.dropFirst(DynamoOperation.targetPrefix.count))
            let collected = try await Self.collect(request)
            body = collected
            principal = try authenticate(request, body: collected)
            if let feature = DynamoOperation.leftOut[operationName] { throw DynamoError.unsupported("\(operationName) (\(feature))") }
            guard let operation = DynamoOperation(rawValue: operationName) else {
                throw DynamoError("UnknownOperationException", "Unknown operation \(operationName.prefix(100))")
            }
            try authorize(principal!, operation: operation)
            auditID = try auditIntent(principal!, operation: operation)
            let json = try Self.parse(collected)
            let service = DynamoService(node: node, forwarded: request.headers[.meridianForwardedBy] != nil, host: request.head.authority ?? "localhost")
            let result = try await service.perform(operation, json)
            auditOutcome(auditID, principal!, operation: operation, status: 200)
            var headers: HTTPFields = [.contentType: Self.contentType, Self.requestIDHeader: requestID]
            if let consistency = result.consistency { headers[Self.consistencyHeader] = consistency }
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: result.body.canonicalBytes)))
        } catch let forward as DynamoForward {
            do {
                return try await self.forward(request, body: body ?? ByteBuffer(), to: forward.region)
            } catch {
                return Self.errorResponse(DynamoError("ServiceUnavailable", "this region cannot serve the request and region \(forward.region) did not answer", status: 503), requestID: requestID)
            }
        } catch let error as DynamoError {
            if let principal, let operation = DynamoOperation(rawValue: operationName) { auditOutcome(auditID, principal, operation: operation, status: error.status) }
            return Self.errorResponse(error, requestID: requestID)
        } catch {
            context.logger.error("DynamoDB request failed unexpectedly", metadata: ["operation": "\(operationName)", "error": "\(type(of: error))"])
            return Self.errorResponse(DynamoError("InternalServerError", "The request failed unexpectedly; nothing is known to have been applied", status: 500), requestID: requestID)
        }
    }

    // MARK: Authentication

    /// Verifies the request's signature; without access control (no secrets file) every
    /// request runs as `anonymous` with every role, as on the native API.
    private func authenticate(_ request: Request, body: ByteBuffer) throws(DynamoError) -> Principal {
        guard let accessControl else { return .anonymous }
        var headers: [(name: String, value: String)] = request.headers.map { ($0.name.canonicalName, $0.value) }
        // HTTP/1's Host arrives as the request's authority (a test client may send both).
        if let authority = request.head.authority, !headers.contains(where: { $0.name.lowercased() == "host" }) { headers.append(("host", authority)) }
        let signed = SignatureV4.SignedRequest(method: request.method.rawValue, path: request.uri.path, query: request.uri.query ?? "",
                                               headers: headers, body: Array(body.readableBytesView))
        let accessKeyID = try SignatureV4.verify(signed, nowSeconds: Int64(Node.systemWallMilliseconds() / 1000)) { key in
            accessControl.sigv4Holder(accessKeyID: key)?.secret
        }
        guard let holder = accessControl.sigv4Holder(accessKeyID: accessKeyID) else {
            throw DynamoError("UnrecognizedClientException", "The security token included in the request is invalid.")
        }
        return holder.principal
    }

    private func authorize(_ principal: Principal, operation: DynamoOperation) throws(DynamoError) {
        guard let needed = Role(rawValue: operation.requiredRole), principal.role >= needed else {
            throw DynamoError("AccessDeniedException",
                "User: meridian:token/\(principal.name) is not authorized to perform: dynamodb:\(operation.rawValue) (the token has role \(principal.role.rawValue); \(operation.rawValue) needs \(operation.requiredRole))")
        }
    }

    /// Table definitions are admin actions: as on the native API, the intent is written and
    /// synced to the audit log before the action runs (the action is refused with 503 when
    /// it cannot be), then its outcome under the same id. Returns the action's id, or `nil`
    /// when the operation is not an admin action or there is no audit log.
    private func auditIntent(_ principal: Principal, operation: DynamoOperation) throws(DynamoError) -> String? {
        guard operation.requiredRole == Role.admin.rawValue, let auditLog else { return nil }
        let id = AuditRecord.newID()
        do {
            try auditLog.appendDurably(AuditRecord(id: id, phase: .intent, who: principal.name, role: principal.role, method: "POST",
                                                   path: Self.auditPath(operation), status: nil, region: node.region.name))
        } catch {
            throw DynamoError("ServiceUnavailable",
                "The audit record of this admin action could not be made durable (\(error)); nothing was done: free space in the data directory and retry", status: 503)
        }
        return id
    }

    /// Records an admin action's outcome (or a refusal before its intent, under a new id).
    private func auditOutcome(_ id: String?, _ principal: Principal, operation: DynamoOperation, status: Int) {
        guard operation.requiredRole == Role.admin.rawValue, let auditLog else { return }
        if id == nil, status == 503 { return }
        auditLog.append(AuditRecord(id: id ?? AuditRecord.newID(), phase: .outcome, who: principal.name, role: principal.role, method: "POST",
                                    path: Self.auditPath(operation), status: status, region: node.region.name))
    }

    private static func auditPath(_ operation: DynamoOperation) -> String {
        "/ (DynamoDB \(operation.rawValue))"
    }

    // MARK: Bodies

    private static func collect(_ request: Request) async throws -> ByteBuffer {
        let tooLarge = DynamoError("RequestEntityTooLarge", "Request must be smaller than \(DynamoLimits.requestBytesMax) bytes", status: 413)
        if let length = request.headers[.contentLength].flatMap(Int.init), length > DynamoLimits.requestBytesMax { throw tooLarge }
        do {
            return try await request.body.collect(upTo: DynamoLimits.requestBytesMax)
        } catch is NIOTooManyBytesError {
            throw tooLarge
        }
    }

    private static func parse(_ body: ByteBuffer) throws(DynamoError) -> JSONValue {
        do {
            return try JSONValue.parse(body.readableBytesView.isEmpty ? Array("{}".utf8) : Array(body.readableBytesView), bytesMax: DynamoLimits.requestBytesMax)
        } catch {
            if error.message.contains("nests deeper") { throw .validation("Nesting Levels have exceeded supported limits") }
            throw .serialization("The request body is not valid JSON: \(error.message)")
        }
    }

    static func errorResponse(_ error: DynamoError, requestID: String) -> Response {
        var members: [String: JSONValue] = ["__type": .string(error.qualifiedType), "message": .string(error.message)]
        if let item = error.item { members["Item"] = Items.dynamoJSON(item) }
        if let reasons = error.cancellationReasons {
            members["CancellationReasons"] = .array(reasons.map { reason in
                var fields: [String: JSONValue] = ["Code": .string(reason.code)]
                if let message = reason.message { fields["Message"] = .string(message) }
                if let item = reason.item { fields["Item"] = Items.dynamoJSON(item) }
                return .object(fields)
            })
            members["Message"] = members["message"]
        }
        let headers: HTTPFields = [.contentType: contentType, requestIDHeader: requestID]
        return Response(status: .init(code: error.status), headers: headers,
                        body: .init(byteBuffer: ByteBuffer(bytes: JSONValue.object(members).canonicalBytes)))
    }

    /// A random request id (128 bits, upper-case hex, as DynamoDB's look).
    static func requestID() -> String {
        var generator = SystemRandomNumberGenerator()
        return SignatureV4.hex((0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }).uppercased()
    }

    // MARK: Forwarding

    /// Headers not passed on: the connection's own framing.
    static let hopByHopHeaders: Set<String> = ["connection", "content-length", "transfer-encoding", "keep-alive", "upgrade"]

    /// Sends the request as received (its signature covers the original `Host`, which is
    /// kept) to the region that can serve it, once, and streams the answer back.
    private func forward(_ request: Request, body: ByteBuffer, to region: RegionID) async throws -> Response {
        guard let api = node.cluster.endpoint(of: region)?.api else {
            throw DynamoError("ServiceUnavailable", "region \(region) is not in the cluster file", status: 503)
        }
        var outbound = HTTPClientRequest(url: "\(node.cluster.apiScheme)://\(api)\(Self.path)")
        outbound.method = .POST
        for field in request.headers where !Self.hopByHopHeaders.contains(field.name.canonicalName.lowercased()) {
            outbound.headers.add(name: field.name.canonicalName, value: field.value)
        }
        outbound.headers.replaceOrAdd(name: "Host", value: request.head.authority ?? api)
        outbound.headers.replaceOrAdd(name: HTTPField.Name.meridianForwardedBy.canonicalName, value: node.region.name)
        outbound.body = .bytes(body)
        let delay = node.oneWayDelaysMilliseconds[region] ?? 0
        if delay > 0 { try await Task.sleep(for: .microseconds(Int(delay * 1000))) }
        let answer = try await regionHTTPClient(for: node.cluster).execute(outbound, timeout: .milliseconds(Forwarder.totalMillisecondsMax))
        if delay > 0 { try await Task.sleep(for: .microseconds(Int(delay * 1000))) }
        var headers: HTTPFields = [:]
        for name in ["content-type", "x-amzn-requestid", "meridian-region", "meridian-consistency"] {
            if let value = answer.headers.first(name: name), let field = HTTPField.Name(name) { headers[field] = value }
        }
        headers[.meridianForwardedBy] = node.region.name
        return Response(status: .init(code: Int(answer.status.code)), headers: headers, body: ResponseBody(asyncSequence: answer.body))
    }
}

/// Thrown when another region must serve the request (it holds the table, or leads it).
struct DynamoForward: Error {
    let region: RegionID
}
