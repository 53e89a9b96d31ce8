import GRPCCore
import GRPCNIOTransportHTTP2Posix
import ShoalBalancing
import ShoalCore
import ShoalDiscovery
import Synchronization

/// A grpc-swift-2 client transport that sends each call to an instance of a service that
/// Shoal's balancer picks for it (hot-cold by default), and tells the balancer how the call
/// went: its latency to the first response part, and whether the instance failed it.
///
/// grpc-swift-2's own balancing policies (pick-first, round robin) are not public, and pick
/// by connection state alone. This transport keeps one HTTP/2 transport per instance, made
/// and dropped as the service changes in any ``ShoalDiscovery/ServiceDiscovery``, and picks
/// among them per call, with ejection of failing instances and circuit breakers as the
/// gateway has them.
///
/// ```swift
/// let transport = ShoalClientTransport(service: "orders", discovery: registry)
/// try await withGRPCClient(transport: transport) { client in
///     let orders = Orders.Client(wrapping: client)
///     …
/// }
/// ```
///
/// Run ``connect()`` (as `GRPCClient` does) for as long as calls are made: it follows the
/// service and keeps the instances' transports connected.
public final class ShoalClientTransport: ClientTransport {
    public typealias Bytes = GRPCNIOTransportBytes

    /// The service the calls go to.
    public let service: String
    /// The balancer, following the service's instances that do not fail their checks.
    public let balancer: ServiceBalancer
    public var retryThrottle: RetryThrottle? { nil }

    private let discovery: any ServiceDiscovery
    private let clock: any MonotonicClock
    private let makeTransport: @Sendable (ServiceInstance) throws -> HTTP2ClientTransport.Posix
    private let serviceConfig: ServiceConfig
    private let state = Mutex(State())
    private let events: AsyncStream<Event>
    private let eventInput: AsyncStream<Event>.Continuation

    private struct State {
        /// One transport per instance address (`host:port`).
        var transports: [String: HTTP2ClientTransport.Posix] = [:]
        var shuttingDown = false
        /// Whether the registry's first answer came (until then, calls wait for it).
        var followed = false
    }

    private enum Event {
        case snapshot(ServiceSnapshot)
        case shutdown
    }

    /// A transport for calls to `service`, following it in `discovery`.
    ///
    /// - Parameters:
    ///   - strategy: how an instance is picked for each call.
    ///   - configuration: the balancer's health settings (ejection, circuit breakers).
    ///   - clock: what latencies, ejections and breakers read.
    ///   - transportSecurity: plaintext (h2c) or TLS to the instances.
    ///   - serviceConfig: grpc-swift-2's method configuration (timeouts, retries) for the calls.
    public init(
        service: String, discovery: any ServiceDiscovery, strategy: BalancingStrategy = .standard,
        configuration: BalancerConfiguration = BalancerConfiguration(), clock: any MonotonicClock = SystemClock(),
        transportSecurity: HTTP2ClientTransport.Posix.TransportSecurity = .plaintext,
        serviceConfig: ServiceConfig = ServiceConfig()
    ) {
        self.service = service
        self.discovery = discovery
        self.clock = clock
        self.serviceConfig = serviceConfig
        balancer = ServiceBalancer(service: service, strategy: strategy, configuration: configuration, clock: clock)
        makeTransport = { instance in
            try HTTP2ClientTransport.Posix(
                target: .dns(host: instance.address, port: instance.port), transportSecurity: transportSecurity,
                serviceConfig: serviceConfig)
        }
        (events, eventInput) = AsyncStream.makeStream()
    }

    /// Follows the service and keeps a connected transport for each instance, until
    /// ``beginGracefulShutdown()`` was called and the last call ended, or the task is cancelled.
    public func connect() async throws {
        await withDiscardingTaskGroup { transports in
            await withDiscardingTaskGroup { following in
                following.addTask { [discovery, service, eventInput] in
                    for await snapshot in discovery.subscribe(service) { eventInput.yield(.snapshot(snapshot)) }
                }
                for await event in events {
                    switch event {
                    case .snapshot(let snapshot):
                        balancer.apply(snapshot)
                        let (added, removed) = reconcile(snapshot)
                        for transport in added { transports.addTask { try? await transport.connect() } }
                        for transport in removed { transport.beginGracefulShutdown() }
                    case .shutdown:
                        following.cancelAll()
                        let all = state.withLock { Array($0.transports.values) }
                        for transport in all { transport.beginGracefulShutdown() }
                        return
                    }
                }
            }
        }
    }

    /// Makes transports for instances new in `snapshot`, and takes out those that left it;
    /// keyed by the balancer's address of each (`Endpoint.address`), which a pick names.
    private func reconcile(_ snapshot: ServiceSnapshot) -> (added: [HTTP2ClientTransport.Posix], removed: [HTTP2ClientTransport.Posix]) {
        let wanted = Dictionary(
            snapshot.healthy.compactMap { instance in (try? instance.endpoint()).map { ($0.address, instance) } },
            uniquingKeysWith: { first, _ in first })
        return state.withLock { state in
            state.followed = true
            guard !state.shuttingDown else { return ([], []) }
            var added: [HTTP2ClientTransport.Posix] = []
            var removed: [HTTP2ClientTransport.Posix] = []
            for (address, transport) in state.transports where wanted[address] == nil {
                state.transports[address] = nil
                removed.append(transport)
            }
            for (address, instance) in wanted where state.transports[address] == nil {
                guard let transport = try? makeTransport(instance) else { continue }
                state.transports[address] = transport
                added.append(transport)
            }
            return (added, removed)
        }
    }

    public func beginGracefulShutdown() {
        state.withLock { $0.shuttingDown = true }
        eventInput.yield(.shutdown)
        eventInput.finish()
    }

    /// The method's configuration in the service config: the one that names the method, else
    /// the one that names its service, else the default (a name with no service), as gRPC's
    /// service config says.
    public func config(forMethod descriptor: MethodDescriptor) -> MethodConfig? {
        let service = descriptor.service.fullyQualifiedService
        let configs = serviceConfig.methodConfig
        return configs.first { $0.names.contains { $0.service == service && $0.method == descriptor.method } }
            ?? configs.first { $0.names.contains { $0.service == service && $0.method.isEmpty } }
            ?? configs.first { $0.names.contains { $0.service.isEmpty } }
    }

    public func withStream<T: Sendable>(
        descriptor: MethodDescriptor, options: CallOptions,
        _ closure: (_ stream: RPCStream<Inbound, Outbound>, _ context: ClientContext) async throws -> T
    ) async throws -> T {
        if state.withLock({ $0.shuttingDown }) {
            throw RPCError(code: .failedPrecondition, message: "the transport to \(service) is shutting down")
        }
        await waitForRegistry(upTo: options.timeout ?? Self.firstAnswerWait)
        // A call whose instance's transport refuses it before it began (the instance just
        // left, and its transport is closing) goes to another: it never reached the instance.
        var tried: [String] = []
        while true {
            let (pick, transport) = try pickTransport(avoiding: tried)
            var began = false
            do {
                return try await call(transport, pick: pick, descriptor: descriptor, options: options) {
                    began = true
                    return try await closure($0, $1)
                }
            } catch let error as RPCError where !began && tried.isEmpty {
                tried.append(pick.address)
                if balancer.balancer?.hasEndpoint(outside: tried) != true { throw error }
            }
        }
    }

    /// The longest a call waits for the registry's first answer about the service.
    static let firstAnswerWait = Duration.seconds(5)

    /// Waits until the registry's first answer about the service came, up to `limit`: a call
    /// made as the process starts finds the instances, rather than none. Polls the clock
    /// every 5 ms, only until that first answer.
    private func waitForRegistry(upTo limit: Duration) async {
        guard !state.withLock({ $0.followed }) else { return }
        let deadline = clock.now() + limit
        while !state.withLock({ $0.followed }) && clock.now() < deadline {
            do {
                try await clock.sleep(until: min(clock.now() + .milliseconds(5), deadline))
            } catch {
                return
            }
        }
    }

    /// An instance for a call, and its transport.
    private func pickTransport(avoiding tried: [String]) throws -> (Pick, HTTP2ClientTransport.Posix) {
        guard let loadBalancer = balancer.balancer else {
            throw RPCError(code: .unavailable, message: "no instance of \(service) can take the call")
        }
        let pick: Pick
        do {
            pick = try loadBalancer.pick(avoiding: tried)
        } catch {
            throw RPCError(code: .unavailable, message: "no instance of \(service) can take the call: \(error)")
        }
        guard let transport = state.withLock({ $0.transports[pick.address] }) else {
            pick.finish(.failure(.cancelled, latency: .zero))
            throw RPCError(code: .unavailable, message: "\(pick.address) of \(service) is not connected yet")
        }
        return (pick, transport)
    }

    /// Makes the call on `transport`, and tells the balancer how it went.
    private func call<T: Sendable>(
        _ transport: HTTP2ClientTransport.Posix, pick: Pick, descriptor: MethodDescriptor, options: CallOptions,
        _ closure: (_ stream: RPCStream<Inbound, Outbound>, _ context: ClientContext) async throws -> T
    ) async throws -> T {
        let started = clock.now()
        let firstPart = Mutex<MonotonicInstant?>(nil)
        let clock = self.clock
        do {
            let result = try await transport.withStream(descriptor: descriptor, options: options) { stream, context in
                // The latency the balancer learns is the time to the first response part, as
                // the gateway's is to the response's head: a long stream is no slow instance.
                let inbound = stream.inbound.map { part in
                    firstPart.withLock { if $0 == nil { $0 = clock.now() } }
                    return part
                }
                let timed = RPCStream(
                    descriptor: stream.descriptor, inbound: RPCAsyncSequence(wrapping: inbound), outbound: stream.outbound)
                return try await closure(timed, context)
            }
            pick.finish(GRPCCallOutcome.outcome(error: nil, latency: (firstPart.withLock { $0 } ?? clock.now()) - started))
            return result
        } catch {
            pick.finish(GRPCCallOutcome.outcome(error: error, latency: (firstPart.withLock { $0 } ?? clock.now()) - started))
            throw error
        }
    }
}
