import Foundation
import MeridianLocalCluster

/// A socket on 127.0.0.1 that accepts connections (the kernel completes them) but never
/// answers: a region that hangs. Returns the descriptor (close it when done) and the port.
public func silentListener() throws -> (descriptor: Int32, port: Int) {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    do {
        return (descriptor, try LocalPorts.bindToFreePort(descriptor, listen: true))
    } catch {
        close(descriptor)
        throw error
    }
}
