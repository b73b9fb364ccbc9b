import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import Logging
import MeridianAPIModel
import MeridianCore

/// A `MeridianError` on its way to the client: knows its HTTP status and renders the
/// JSON error object `{"error": {"code": ..., "message": ...}}`.
struct APIError: Error, HTTPResponseError {
    let error: MeridianError
    let headers: HTTPFields
    /// A status more precise than the error's kind gives (408, 431); `nil`: the kind's.
    let statusOverride: HTTPResponse.Status?

    init(_ error: MeridianError, headers: HTTPFields = [:], status: HTTPResponse.Status? = nil) {
        self.error = error
        self.headers = headers
        statusOverride = status
    }

    var status: HTTPResponse.Status {
        if let statusOverride { return statusOverride }
        switch error.kind {
        case .invalidArgument: return .badRequest
        case .notFound: return .notFound
        case .methodNotAllowed: return .methodNotAllowed
        case .conflict: return .conflict
        case .preconditionFailed: return .preconditionFailed
        case .gone: return .gone
        case .tooLarge: return .contentTooLarge
        case .misdirected: return .misdirectedRequest
        case .unavailable: return .serviceUnavailable
        case .internalError: return .internalServerError
        }
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        try jsonResponse()
    }

    /// The JSON error object with the error's status and headers.
    func jsonResponse() throws -> Response {
        let body = ErrorBody(code: error.code, message: error.message)
        var headers = self.headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try APIJSON.encode(body))))
    }
}

/// Turns every error into the JSON error object and stamps every response with
/// `Meridian-Region`.
struct ErrorAndRegionMiddleware<Context: RequestContext>: RouterMiddleware {
    let region: RegionID

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            response = try Self.apiError(for: error, request: request, context: context).response(from: request, context: context)
        }
        // A forwarded answer already names the region that served it.
        if response.headers[.meridianRegion] == nil { response.headers[.meridianRegion] = region.name }
        return response
    }

    static func apiError(for error: any Error, request: Request, context: Context) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as MeridianError:
            return APIError(error)
        case is NIOTooManyBytesError:
            return APIError(MeridianError(.tooLarge, code: "body_too_large", "the request body is larger than its limit"))
        case let error as HTTPParserError:
            return APIError.forInvalidHTTP(error)
        case let timeout as RequestReadTimeout:
            return APIError(MeridianError(.invalidArgument, code: "request_timeout",
                "the request's body did not arrive within \(timeout.milliseconds) ms of its head; the connection is closed"), status: .requestTimeout)
        case let error as HTTPError where error.status == .notFound:
            return APIError(MeridianError(.notFound, code: "route_not_found", "no such path: \(request.uri.path.prefix(200)); README.md lists the API's paths"))
        case let error as any HTTPResponseError:
            return APIError(MeridianError(error.status.code >= 500 ? .internalError : .invalidArgument, code: "http_error", "\(error.status.code) \(error.status.reasonPhrase)"))
        default:
            context.logger.error("request failed unexpectedly", metadata: ["error": "\(type(of: error))"])
            return APIError(MeridianError(.internalError, code: "internal", "the request failed unexpectedly; nothing is known to have been applied"))
        }
    }
}
