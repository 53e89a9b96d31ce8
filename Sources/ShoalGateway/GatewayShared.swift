import NIOCore
import NIOSSL
import ShoalBalancing
import ShoalDiscovery
import Synchronization
import Tracing

/// What every event loop of a gateway shares: settings, routes with their upstream sets, and
/// counters. Reads on the request path are of immutable values or single atomics.
final class GatewayShared: Sendable {
    let configuration: GatewayConfiguration
    /// One per route, in the route table's order.
    let upstreams: [ServiceBalancer]
    /// Each route's name in metrics and the access log: its host (if any) and prefix.
    let routeLabels: [String]
    /// The route table, and each of its routes by reference, in the table's order.
    let routes: RouteTable
    let routeEntries: [RouteEntry]
    /// Client connections open now.
    let connections = Atomic<Int>(0)
    /// Of ``connections``, those that speak HTTP/2.
    let http2Connections = Atomic<Int>(0)
    /// Set when a graceful shutdown began: keep-alive ends with the response in flight.
    let draining = Atomic<Bool>(false)
    /// The drain waiting for the last connection to close (``waitUntilNoConnections()``).
    let drainWaiter = Mutex<CheckedContinuation<Void, Never>?>(nil)
    /// Counts read in process (the demo's summary); `/metrics` has the rest.
    let counters = GatewayCounters()
    /// Whether clients come over TLS.
    let secure: Bool
    /// What instances are told of a client's certificate; `nil` when they are not.
    let describeClientCertificate: (@Sendable (NIOSSLCertificate) -> String)?
    /// Where request spans go; `nil` when no tracer records them, so requests skip tracing.
    let tracer: (any Tracer)?

    init(configuration: GatewayConfiguration, upstreams: [ServiceBalancer], tracer: any Tracer) {
        self.configuration = configuration
        self.upstreams = upstreams
        routes = configuration.routes
        routeLabels = routes.routes.map { ($0.host ?? "") + $0.prefix }
        routeEntries = routes.routes.enumerated().map { RouteEntry(index: $0.offset, route: $0.element) }
        secure = configuration.tls != nil
        describeClientCertificate = secure ? configuration.describeClientCertificate : nil
        self.tracer = tracer is NoOpTracer ? nil : tracer
    }

    var isDraining: Bool { draining.load(ordering: .relaxed) }
}

/// Counts of what the gateway did, since it started, for a process that embeds it. The
/// `shoal_gateway_*` metrics say more, by route and instance.
public final class GatewayCounters: Sendable {
    /// Tries after the first.
    public let retries = Atomic<Int>(0)
    /// gRPC calls answered (by an instance or by the gateway), and of them those whose
    /// `grpc-status` was not 0 (OK).
    public let grpcCalls = Atomic<Int>(0)
    public let grpcErrors = Atomic<Int>(0)
}

/// One event loop's own state: its upstream pool, its pickers, its open connections.
final class GatewayLoop {
    let eventLoop: any EventLoop
    let shared: GatewayShared
    let pool: UpstreamConnectionPool
    /// The h2c connections of routes whose instances speak HTTP/2.
    let http2Pool: UpstreamHTTP2Pool
    let metrics: GatewayMetrics
    var requestIDs: RequestIDGenerator
    /// Access-log lines waiting to be written; `nil` without an access log.
    let accessLog: AccessLogBuffer?
    private var pickers: [(generation: Int, picker: BalancerPicker?)]
    /// The handlers of open client connections and HTTP/2 streams, for draining.
    var handlers: [ObjectIdentifier: ProxyHandler] = [:]
    /// The open HTTP/2 client connections, for draining: each is told to quiesce (`GOAWAY`).
    var http2Connections: [ObjectIdentifier: any Channel] = [:]

    init(eventLoop: any EventLoop, shared: GatewayShared, seed: UInt64, accessLog: AccessLogBuffer? = nil) {
        self.eventLoop = eventLoop
        self.shared = shared
        pool = UpstreamConnectionPool(eventLoop: eventLoop, settings: shared.configuration.upstream)
        http2Pool = UpstreamHTTP2Pool(eventLoop: eventLoop, settings: shared.configuration.upstream)
        metrics = GatewayMetrics(routeLabels: shared.routeLabels)
        requestIDs = RequestIDGenerator(seed: seed)
        self.accessLog = accessLog
        pickers = Array(repeating: (-1, nil), count: shared.upstreams.count)
    }

    /// This loop's picker for route `index`, or `nil` while its service has no instance.
    func picker(route index: Int) -> BalancerPicker? {
        let upstreams = shared.upstreams[index]
        let generation = upstreams.generation
        if pickers[index].generation != generation {
            pickers[index] = (generation, upstreams.balancer?.makePicker())
        }
        return pickers[index].picker
    }
}

extension GatewayLoop {
    /// Keeps `channel`, an HTTP/2 client connection, among ``http2Connections`` until it closes.
    func track(http2Connection channel: any Channel) {
        let id = ObjectIdentifier(channel)
        http2Connections[id] = channel
        shared.http2Connections.wrappingAdd(1, ordering: .relaxed)
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        channel.closeFuture.whenComplete { _ in
            bound.value.http2Connections[id] = nil
            bound.value.shared.http2Connections.wrappingSubtract(1, ordering: .relaxed)
        }
    }
}
