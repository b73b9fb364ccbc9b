import ArgumentParser
import Foundation
import MeridianHTTP
import MeridianNode

extension Serve {
    /// The token check and the audit log for this node, from the cluster file's
    /// `secrets_file` (paths already resolved) and the data directory.
    static func operationsOptions(cluster: ClusterConfiguration, data: String, devControl: String?) throws -> OperationsOptions {
        if let devControl, HostAndPort(devControl) == nil { throw ValidationError("--dev-control must be host:port") }
        let accessControl = try cluster.secretsFile.map { path in try AccessControl.load(path: path) }
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let auditLog = try AuditLog(path: URL(fileURLWithPath: data).appendingPathComponent("audit.log").path)
        return OperationsOptions(accessControl: accessControl, auditLog: auditLog, devControlAddress: devControl)
    }
}
