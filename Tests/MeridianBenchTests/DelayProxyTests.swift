import Foundation
@testable import MeridianBench
import MeridianLocalCluster
import Testing

/// The delay proxy that stands between etcd's members (and PostgreSQL's pair) with the
/// latency matrix.
struct DelayProxyTests {
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
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        port = try LocalPorts.bindToFreePort(listener, listen: true)
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
