import AsyncHTTPClient
import Foundation
import MeridianNode
import NIOConcurrencyHelpers
import NIOSSL

/// How this node reaches other regions' client APIs: `https` with the cluster's CA as the
/// only trusted root when the cluster file's `tls.client_api` is on, else plain `http`.
extension ClusterConfiguration {
    /// `https` when the client API serves TLS, else `http`.
    public var apiScheme: String { tls?.clientAPI == true ? "https" : "http" }
}

/// The HTTP clients for region-to-region requests, one per CA file, made on first use and
/// kept for the process's life (like `regionHTTPClient`).
private let tlsRegionClients = NIOLockedValueBox<[String: HTTPClient]>([:])

/// The client for requests to other regions of `cluster`: the shared plain one, or one
/// that trusts only the cluster's CA (host names unchecked: regions are addressed by IP).
func regionHTTPClient(for cluster: ClusterConfiguration) -> HTTPClient {
    guard let tls = cluster.tls, tls.clientAPI == true else { return regionHTTPClient }
    return tlsRegionClients.withLockedValue { clients in
        if let client = clients[tls.ca] { return client }
        var configuration = Forwarder.clientConfiguration()
        var tlsConfiguration = TLSConfiguration.makeClientConfiguration()
        tlsConfiguration.trustRoots = .file(tls.ca)
        tlsConfiguration.certificateVerification = .noHostnameVerification
        configuration.tlsConfiguration = tlsConfiguration
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        clients[tls.ca] = client
        return client
    }
}
