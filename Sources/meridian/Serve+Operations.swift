import ArgumentParser
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOSSL
import MeridianCore
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

    /// The API's server: HTTPS with the node's certificate when the cluster file's
    /// `tls.client_api` is on (clients are not asked for a certificate), else HTTP/1.1;
    /// either way with the API's limits on headers and time (`MeridianAPI.http1Configuration`).
    static func httpServer(cluster: ClusterConfiguration, region: RegionID) throws -> HTTPServerBuilder {
        let http1 = HTTPServerBuilder.http1(configuration: MeridianAPI.http1Configuration(region: region))
        guard let tls = cluster.tls, tls.clientAPI == true else { return http1 }
        let chain = try NIOSSLCertificate.fromPEMFile(tls.certificate).map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(file: tls.key, format: .pem)
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        return try .tls(http1, tlsConfiguration: configuration)
    }
}
