import Foundation
import MeridianCore
import MeridianTestSupport
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One HTTP exchange with a node.
struct HTTPExchange {
    var status: Int
    var body: Data
    var headers: [String: String]

    func json() throws -> [String: JSONValue] {
        guard case .object(let fields) = try JSONValue.parse(Array(body), bytesMax: .max) else {
            throw MeridianError.invalid("test", "not a JSON object: \(String(decoding: body, as: UTF8.self))")
        }
        return fields
    }
}

/// Sends one request with URLSession; gives up (throws) after `timeoutSeconds` without an answer.
func send(_ method: String, _ url: String, body: String? = nil, headers: [String: String] = [:], timeoutSeconds: Double = 20) async throws -> HTTPExchange {
    var request = URLRequest(url: URL(string: url)!)
    request.timeoutInterval = timeoutSeconds
    request.httpMethod = method
    request.httpBody = body.map { Data($0.utf8) }
    for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
    let (data, response) = try await URLSession.shared.data(for: request)
    let http = response as! HTTPURLResponse
    var fields: [String: String] = [:]
    for (name, value) in http.allHeaderFields { fields["\(name)".lowercased()] = "\(value)" }
    return HTTPExchange(status: http.statusCode, body: data, headers: fields)
}

/// Runs the `meridian` executable with arguments; returns its exit status and standard output.
func runCLI(_ arguments: [String]) throws -> (status: Int32, output: String, error: String) {
    let process = Process()
    process.executableURL = meridianBinary
    process.arguments = arguments
    let output = Pipe()
    let error = Pipe()
    process.standardOutput = output
    process.standardError = error
    try process.run()
    let outputData = output.fileHandleForReading.readDataToEndOfFile()
    let errorData = error.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: outputData, as: UTF8.self), String(decoding: errorData, as: UTF8.self))
}

/// Polls `condition` every 100 ms until it holds; false when it still does not after `seconds`.
func waitFor(seconds: Double = 30, _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(100))
    }
    return try await condition()
}
