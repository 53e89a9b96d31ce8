import GRPCNIOTransportHTTP2Posix
import ShoalDiscovery

/// A gRPC target that names a service in Shoal's registry, `shoal:///SERVICE`: a client
/// transport on it calls the service's instances and follows them as they register, leave
/// or fail their checks. ``ShoalNameResolverFactory`` resolves it.
///
/// ```swift
/// var resolvers = NameResolverRegistry.defaults
/// resolvers.registerFactory(ShoalNameResolverFactory())
/// let transport = try HTTP2ClientTransport.Posix(
///     target: .shoal("orders", discovery: registry), transportSecurity: .plaintext,
///     resolverRegistry: resolvers, serviceConfig: ServiceConfig(loadBalancingConfig: [.roundRobin]))
/// ```
public struct ShoalTarget: ResolvableTarget, Sendable {
    /// The service's name in the registry.
    public var service: String
    /// Where its instances are found: an embedded registry, Redis, or `shoal serve`'s API.
    public var discovery: any ServiceDiscovery

    public init(service: String, discovery: any ServiceDiscovery) {
        self.service = service
        self.discovery = discovery
    }
}

extension ResolvableTarget where Self == ShoalTarget {
    /// The instances of `service`, as `discovery` finds them.
    public static func shoal(_ service: String, discovery: any ServiceDiscovery) -> ShoalTarget {
        ShoalTarget(service: service, discovery: discovery)
    }
}
