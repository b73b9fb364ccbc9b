import Foundation
import MeridianCore

/// Ports that were free a moment ago on 127.0.0.1 (the system picked them).
public func freePorts(_ count: Int) throws -> [Int] {
    var descriptors: [Int32] = []
    defer { descriptors.forEach { close($0) } }
    var ports: [Int] = []
    for _ in 0..<count {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        descriptors.append(descriptor)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                guard bind(descriptor, pointer, length) == 0 else { return -1 }
                return getsockname(descriptor, pointer, &length)
            }
        }
        guard bound == 0 else { throw MeridianError.invalid("test", "no free port") }
        ports.append(Int(UInt16(bigEndian: address.sin_port)))
    }
    return ports
}

/// A socket on 127.0.0.1 that accepts connections (the kernel completes them) but never
/// answers: a region that hangs. Returns the descriptor (close it when done) and the port.
public func silentListener() throws -> (descriptor: Int32, port: Int) {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let listening = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
            guard bind(descriptor, pointer, length) == 0, listen(descriptor, 16) == 0 else { return -1 }
            return getsockname(descriptor, pointer, &length)
        }
    }
    guard listening == 0 else {
        close(descriptor)
        throw MeridianError.invalid("test", "could not listen on a free port")
    }
    return (descriptor, Int(UInt16(bigEndian: address.sin_port)))
}
