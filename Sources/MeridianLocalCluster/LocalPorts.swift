import Foundation

/// The ports of a cluster on loopback, in the cluster file's convention: the API ports of
/// the regions in order, then their peer ports in the same order.
public enum LocalPorts {
    /// How far above the API ports `consecutive` puts the peer ports.
    public static let peerPortOffset = 100

    /// `meridian dev`'s ports: API ports from `base`, peer ports from `base + 100`.
    public static func consecutive(base: Int, count: Int) -> [Int] {
        Array(base..<base + count) + Array(base + peerPortOffset..<base + peerPortOffset + count)
    }

    /// `count` ports that were free a moment ago on 127.0.0.1 (the system picked them;
    /// all are held open together, so they are distinct).
    public static func free(_ count: Int) throws -> [Int] {
        var descriptors: [Int32] = []
        defer { descriptors.forEach { close($0) } }
        var ports: [Int] = []
        for _ in 0..<count {
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard descriptor >= 0 else { throw LocalClusterError("no socket for a free port: errno \(errno)") }
            descriptors.append(descriptor)
            ports.append(try bindToFreePort(descriptor, listen: false))
        }
        return ports
    }

    /// Binds a TCP socket to a port of 127.0.0.1 the system picks, listening when asked
    /// (a backlog of 16); returns the port.
    public static func bindToFreePort(_ descriptor: Int32, listen listening: Bool) throws -> Int {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                guard bind(descriptor, pointer, length) == 0, !listening || listen(descriptor, 16) == 0 else { return -1 }
                return getsockname(descriptor, pointer, &length)
            }
        }
        guard bound == 0 else { throw LocalClusterError("no free port on 127.0.0.1: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Why a local cluster could not be set up or started, in a sentence.
public struct LocalClusterError: Error, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
