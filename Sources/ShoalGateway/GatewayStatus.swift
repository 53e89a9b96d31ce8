import ShoalBalancing

/// What a running gateway is doing now: its client connections and, for each route, the
/// instances it can send to with what their balancer knows of them. `shoal serve` serves it
/// as JSON at `GET /v1/gateway`; request counts and latency histograms are in `/metrics`.
public struct GatewayStatus: Sendable, Encodable {
    /// Client connections open.
    public var connections: Int
    /// Of ``connections``, those that speak HTTP/2.
    public var http2Connections: Int
    /// Whether a graceful shutdown began.
    public var draining: Bool
    /// Tries after the first, since the gateway started.
    public var retries: Int
    /// gRPC calls answered since the gateway started, and of them those not OK.
    public var grpcCalls: Int
    public var grpcErrors: Int
    /// Whether clients come over TLS.
    public var tls: Bool
    public var routes: [Route]

    enum CodingKeys: String, CodingKey {
        case connections, draining, retries, tls, routes
        case http2Connections = "http2_connections"
        case grpcCalls = "grpc_calls"
        case grpcErrors = "grpc_errors"
    }

    /// One route and its instances.
    public struct Route: Sendable, Encodable {
        public var host: String?
        public var prefix: String
        public var service: String
        /// The balancing strategy's name.
        public var strategy: String
        /// How the gateway talks to the instances: `http1` or `h2c`.
        public var upstreamProtocol: String
        /// The instances the route can send to, in the registry's order; empty while the
        /// service has none that passes its checks.
        public var instances: [Instance]

        enum CodingKeys: String, CodingKey {
            case host, prefix, service, strategy, instances
            case upstreamProtocol = "protocol"
        }
    }

    /// One instance of a route's service, as its balancer sees it.
    public struct Instance: Sendable, Encodable {
        /// `HOST:PORT`.
        public var address: String
        /// Requests sent and not answered.
        public var inFlight: Int
        /// What active health checks last said.
        public var healthy: Bool
        /// Whether outlier detection has it out now.
        public var ejected: Bool
        /// Ejections in a row.
        public var ejections: Int
        /// The balancer's latency estimate (Peak EWMA; 0 for other strategies).
        public var latencyMilliseconds: Double
        /// The circuit breaker's phase (`closed`, `open`, `half-open`), when breakers are on.
        public var circuit: String?

        enum CodingKeys: String, CodingKey {
            case address, healthy, ejected, ejections, circuit
            case inFlight = "in_flight"
            case latencyMilliseconds = "latency_ms"
        }
    }
}

extension GatewayStatus.Instance {
    init(_ report: EndpointReport) {
        let circuit: String? =
            switch report.circuit {
            case nil: nil
            case .closed: "closed"
            case .open: "open"
            case .halfOpen: "half-open"
            }
        self.init(
            address: report.endpoint.address, inFlight: report.inFlight, healthy: report.healthy,
            ejected: report.ejectedUntil != nil, ejections: report.ejections,
            latencyMilliseconds: report.latencyEWMA / .milliseconds(1),
            circuit: circuit)
    }
}
