import ShoalBalancing

extension Gateway {
    /// What the gateway is doing now.
    public var status: GatewayStatus {
        GatewayStatus(
            connections: openConnections, http2Connections: shared.http2Connections.load(ordering: .relaxed),
            draining: shared.isDraining,
            retries: shared.counters.retries.load(ordering: .relaxed),
            grpcCalls: shared.counters.grpcCalls.load(ordering: .relaxed),
            grpcErrors: shared.counters.grpcErrors.load(ordering: .relaxed), tls: shared.secure,
            routes: zip(shared.routes.routes, shared.upstreams).map { route, upstreams in
                GatewayStatus.Route(
                    host: route.host, prefix: route.prefix, service: route.service, strategy: route.strategy.name,
                    upstreamProtocol: route.upstreamProtocol.rawValue,
                    instances: (upstreams.balancer?.report ?? []).map(GatewayStatus.Instance.init))
            })
    }
}
