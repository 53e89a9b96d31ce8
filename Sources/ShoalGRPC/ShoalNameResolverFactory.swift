import GRPCCore
import GRPCNIOTransportHTTP2Posix
import NIOCore
import NIOPosix
import ShoalDiscovery

/// Resolves a ``ShoalTarget`` for grpc-swift-2's HTTP/2 transport: each time the service
/// changes, the transport gets the addresses of its instances that do not fail their checks
/// (push mode: the registry says when, nobody polls).
///
/// An instance registered by IP address is used as it is; one registered by host name is
/// looked up (`getaddrinfo`, on NIO's thread pool) each time the service changes. A name
/// that does not resolve leaves its instance out until the next change.
public struct ShoalNameResolverFactory: NameResolverFactory {
    public typealias Target = ShoalTarget

    public init() {}

    public func resolver(for target: ShoalTarget) -> NameResolver {
        let snapshots = target.discovery.subscribe(target.service)
        // A throwing map: the transport takes a sequence that may fail, though this one ends
        // only when the registry's subscription does.
        let names = snapshots.map { (snapshot) async throws -> NameResolutionResult in
            NameResolutionResult(endpoints: await Self.endpoints(of: snapshot), serviceConfig: nil)
        }
        return NameResolver(names: RPCAsyncSequence(wrapping: names), updateMode: .push, authority: target.service)
    }

    /// An endpoint for each instance that does not fail its checks.
    static func endpoints(of snapshot: ServiceSnapshot) async -> [Endpoint] {
        var endpoints: [Endpoint] = []
        for instance in snapshot.healthy {
            if let address = await address(host: instance.address, port: instance.port) {
                endpoints.append(Endpoint(addresses: [address]))
            }
        }
        return endpoints
    }

    /// `host:port` as a socket address: a literal as it is, a name looked up.
    static func address(host: String, port: Int) async -> GRPCNIOTransportHTTP2Posix.SocketAddress? {
        if (try? NIOCore.SocketAddress(ipAddress: host, port: port)) != nil {
            return host.contains(":") ? .ipv6(host: host, port: port) : .ipv4(host: host, port: port)
        }
        let resolved = try? await NIOThreadPool.singleton.runIfActive {
            try NIOCore.SocketAddress.makeAddressResolvingHost(host, port: port)
        }
        guard let resolved, let ip = resolved.ipAddress else { return nil }
        switch resolved {
        case .v6: return .ipv6(host: ip, port: port)
        default: return .ipv4(host: ip, port: port)
        }
    }
}
