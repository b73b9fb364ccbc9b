import Foundation
import MeridianTestSupport
import Testing
@testable import meridian

/// `meridian bench`: the arithmetic behind its ratio lines, the delay proxy, and one
/// tiny scenario end to end through the real executable.
@Suite struct BenchTests {
    @Test func percentilesComeFromTheRecordedLatencies() {
        var histogram = LatencyHistogram()
        for milliseconds in 1...100 { histogram.record(microseconds: UInt64(milliseconds * 1000)) }
        #expect(histogram.count == 100)
        // HDR histograms keep three significant digits.
        #expect(abs(histogram.p50! - 50) <= 0.05)
        #expect(abs(histogram.p99! - 99) <= 0.1)
        #expect(abs(histogram.maxMilliseconds! - 100) <= 0.1)
        #expect(LatencyHistogram().p50 == nil)
    }

    @Test func aLatencyAboveTheMaximumIsClampedNotLost() {
        var histogram = LatencyHistogram()
        histogram.record(microseconds: LatencyHistogram.microsecondsMax * 10)
        #expect(histogram.count == 1)
        #expect(histogram.clampedCount == 1)
    }

    @Test func ratiosRefuseAMissingOrZeroDenominator() {
        #expect(BenchMath.ratio(10, 4) == 2.5)
        #expect(BenchMath.ratio(10, 0) == nil)
        #expect(BenchMath.ratio(nil, 4) == nil)
        #expect(BenchMath.format(nil) == "n/a")
        #expect(BenchMath.format(1.23456) == "1.235")
    }

    @Test func theStrongWriteFloorIsTheRoundTripToTheLeaderPlusItsNearestMajority() {
        let delays: [String: Double] = ["a-b": 35, "a-c": 93, "b-c": 60]
        let oneWay: (String, String) -> Double = { delays["\(min($0, $1))-\(max($0, $1))"]! }
        // Leader a: its nearest majority partner is b (2 x 35 ms).
        #expect(BenchMath.strongWriteFloorMilliseconds(client: "a", leader: "a", regions: ["a", "b", "c"], oneWay: oneWay) == 70)
        #expect(BenchMath.strongWriteFloorMilliseconds(client: "c", leader: "a", regions: ["a", "b", "c"], oneWay: oneWay) == 186 + 70)
        // Leader c: nearest is b (2 x 60 ms).
        #expect(BenchMath.strongWriteFloorMilliseconds(client: "a", leader: "c", regions: ["a", "b", "c"], oneWay: oneWay) == 186 + 120)
        // One region: nothing to wait for.
        #expect(BenchMath.strongWriteFloorMilliseconds(client: "a", leader: "a", regions: ["a"], oneWay: oneWay) == 0)
    }

    @Test func etcdPeersAreToldApartByTheirServerFromHeader() {
        let request = Array("GET /raft/stream/msgappv2/8e9e05c52164694d HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Server-From: 91BC3C398FB3C146\r\n\r\n".utf8)
        #expect(EtcdCluster.serverFrom(request) == "91bc3c398fb3c146")
        #expect(EtcdCluster.serverFrom(Array("GET /version HTTP/1.1\r\n\r\n".utf8)) == nil)
    }

    @Test func theDelayProxyDeliversEveryByteInOrderAfterBothDelays() throws {
        let echo = try EchoServer()
        defer { echo.stop() }
        let proxy = try DelayProxy(targetPort: echo.port, delays: .init(forwardMilliseconds: 30, backwardMilliseconds: 20))
        defer { proxy.stop() }
        let descriptor = try connectToLoopback(port: proxy.port)
        defer { close(descriptor) }
        let message = (0..<200_000).map { UInt8($0 % 251) }
        let started = ContinuousClock.now
        // Several writes: order across chunks must survive the queues.
        for chunk in stride(from: 0, to: message.count, by: 7_000) {
            let part = Array(message[chunk..<min(message.count, chunk + 7_000)])
            #expect(part.withUnsafeBytes { write(descriptor, $0.baseAddress!, part.count) } == part.count)
        }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while received.count < message.count {
            let count = read(descriptor, &buffer, buffer.count)
            guard count > 0 else { break }
            received += buffer[0..<count]
        }
        #expect(received == message)
        // A lower bound only: a slow machine can only make it later.
        #expect(ContinuousClock.now - started >= .milliseconds(50))
    }

    @Test func benchRefusesAnUnknownScenario() throws {
        let (status, output) = try runMeridian(["bench", "--scenario", "nope"])
        #expect(status != 0)
        #expect(output.contains("unknown scenario 'nope'"))
    }

    @Test func aTinyLocalWritesRunPrintsItsTableAndRatios() throws {
        let (status, output) = try runMeridian(["bench", "--quick", "--scenario", "local-writes", "--clients", "1,2", "--duration", "1"])
        #expect(status == 0, "\(output)")
        #expect(output.contains("scenario local-writes"))
        #expect(output.contains("ratios local-writes: throughput 2 clients / 1 client"))
        #expect(output.contains("every ratio of this run:"))
    }
}

/// Runs the `meridian` executable to its end; returns its status and its output (both streams).
func runMeridian(_ arguments: [String]) throws -> (Int32, String) {
    let process = Process()
    process.executableURL = meridianBinary
    process.arguments = arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// A blocking TCP connection to 127.0.0.1.
func connectToLoopback(port: Int) throws -> Int32 {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else {
        close(descriptor)
        throw BenchError("cannot connect to 127.0.0.1:\(port)")
    }
    return descriptor
}

/// A one-connection echo server on 127.0.0.1, on a thread.
final class EchoServer: @unchecked Sendable {
    let port: Int
    private let listener: Int32

    init() throws {
        let (descriptor, port) = try silentListener()
        listener = descriptor
        self.port = port
        Thread { [listener] in
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { return }
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = read(connection, &buffer, buffer.count)
                guard count > 0 else { break }
                var offset = 0
                while offset < count {
                    let written = buffer.withUnsafeBytes { write(connection, $0.baseAddress! + offset, count - offset) }
                    guard written > 0 else { break }
                    offset += written
                }
            }
            close(connection)
        }.start()
    }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }
}
