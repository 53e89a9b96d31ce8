import AsyncHTTPClient
import Metrics
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import ShoalBalancing
import ShoalCore
import ShoalDiscovery
import Synchronization
import Tracing

/// Calls services by name: client-side load balancing over the instances a registry knows,
/// with no gateway in between.
///
/// Each call
/// 1. finds the service's instances through ``discovery`` (once; a subscription then keeps
///    them current),
/// 2. picks one with a ShoalBalancing strategy (hot-cold by default),
/// 3. sends the request with AsyncHTTPClient,
/// 4. tells the balancer how it went, so slow or failing instances get fewer calls, and
///    a failing one is ejected or has its circuit opened.
///
/// ```swift
/// let client = ServiceClient(discovery: registry)
/// let response = try await client.get(service: "orders", "/orders/42")
/// let body = try await response.body.collect(upTo: 1 << 20)
/// ```
///
/// Run the client in a `ServiceGroup`: its `run()` follows each service called (a
/// subscription keeps its instances current), and graceful shutdown ends the subscriptions
/// and closes the connections. Calls work without `run()` too, but each service's instances
/// then stay those its first lookup found; call ``shutdown()`` when done.
///
/// Errors are ``ServiceCallError``s, or `CancellationError` when the calling task is
/// cancelled. An instance's own answer, whatever its status, is returned as a response:
/// only a 502 or 503 is retried elsewhere (when the call may be retried), and the last one
/// is returned if every try got one.
public final class ServiceClient: Service, Sendable {
    /// Where instances come from.
    public let discovery: any ServiceDiscovery
    /// Balancing and default call options.
    public let configuration: Configuration
    let clock: any MonotonicClock
    let http: HTTPClient
    private let ownsHTTPClient: Bool
    let tracer: (any Tracer)?
    let metrics: ServiceClientMetrics
    /// The services called; `nil` once shut down.
    private let services = Mutex<[String: Followed]?>([:])
    /// Balancers to follow, each once its first lookup answered: `run()` follows each as a
    /// child task of its own.
    private let toFollow = AsyncStream.makeStream(of: ServiceBalancer.self)
    /// Whether `run()` was called (only one follows).
    private let running = Atomic<Bool>(false)

    /// A service called: its balancer (once the first lookup answered), whether it was
    /// handed to `run()` to follow, and its recent answer times.
    private final class Followed: Sendable {
        let latencies = LatencyWindow()
        private let handedOver = Atomic<Bool>(false)
        private let lookup = Mutex(Lookup.none)

        /// The first lookup: made in the task of one caller, while the calls that come
        /// meanwhile wait for it.
        private enum Lookup {
            case none
            case running(waiters: [CheckedContinuation<Turn, any Error>])
            case done(ServiceBalancer)
            case stopped
        }

        /// What a caller does next.
        private enum Turn {
            case use(ServiceBalancer)
            /// Look the service up: nobody else is.
            case look
        }

        /// The balancer, once `lookUp` made it; the first caller makes it, in its own task.
        /// When that caller is cancelled, the lookup is not lost for those waiting: one of
        /// them makes it again. Any other failure fails them all (the next call asks again).
        func balancer(_ lookUp: () async throws -> ServiceBalancer) async throws -> ServiceBalancer {
            while true {
                let turn = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Turn, any Error>) in
                    lookup.withLock { lookup in
                        switch lookup {
                        case .none:
                            lookup = .running(waiters: [])
                            continuation.resume(returning: .look)
                        case .running(var waiters):
                            waiters.append(continuation)
                            lookup = .running(waiters: waiters)
                        case .done(let balancer):
                            continuation.resume(returning: .use(balancer))
                        case .stopped:
                            continuation.resume(throwing: ServiceCallError.shutDown)
                        }
                    }
                }
                switch turn {
                case .use(let balancer):
                    return balancer
                case .look:
                    do {
                        let balancer = try await lookUp()
                        finish(.done(balancer), resuming: .success(.use(balancer)))
                        return balancer
                    } catch {
                        // This caller gave up: the next one looks, if anyone waits.
                        let gaveUp = Task.isCancelled
                        finish(.none, resuming: gaveUp ? .success(.look) : .failure(error), firstOnly: gaveUp)
                        throw error
                    }
                }
            }
        }

        /// Ends the lookup as `next`, resuming the callers waiting with `turn` (with
        /// `firstOnly`, only the first; the rest keep waiting for it).
        private func finish(_ next: Lookup, resuming turn: Result<Turn, any Error>, firstOnly: Bool = false) {
            let resumed = lookup.withLock { lookup -> [CheckedContinuation<Turn, any Error>] in
                guard case .running(let waiters) = lookup else { return [] }
                if firstOnly, let first = waiters.first {
                    lookup = .running(waiters: Array(waiters.dropFirst()))
                    return [first]
                }
                lookup = next
                return waiters
            }
            for waiter in resumed { waiter.resume(with: turn) }
        }

        /// Whether this call is the first to ask: the one that hands the balancer to `run()`.
        func handOver() -> Bool {
            !handedOver.exchange(true, ordering: .relaxed)
        }

        /// Fails the calls waiting for the first lookup: the client shut down.
        func stop() {
            let waiters = lookup.withLock { lookup -> [CheckedContinuation<Turn, any Error>] in
                defer { lookup = .stopped }
                guard case .running(let waiters) = lookup else { return [] }
                return waiters
            }
            for waiter in waiters { waiter.resume(throwing: ServiceCallError.shutDown) }
        }
    }

    /// - Parameters:
    ///   - discovery: the registry (embedded, Redis, or any other `ServiceDiscovery`).
    ///   - httpClient: the AsyncHTTPClient to send with. By default one of the client's own,
    ///     on which a refused connection fails the try at once (so the next try can go
    ///     elsewhere), closed by ``shutdown()``.
    ///   - tracer: where call spans go; `nil` means the one bootstrapped in
    ///     `InstrumentationSystem` (none: no spans, and no trace headers are added).
    ///   - metricsFactory: where the metrics go; `nil` means the one bootstrapped in
    ///     swift-metrics' `MetricsSystem`. The metrics:
    ///     `shoal_client_requests_total{service,instance,status}`,
    ///     `shoal_client_call_duration_seconds{service}`,
    ///     `shoal_client_answer_duration_seconds{service,instance}`,
    ///     `shoal_client_retries_total{service}` and `shoal_client_hedges_total{service}`.
    public init(
        discovery: any ServiceDiscovery, configuration: Configuration = Configuration(), httpClient: HTTPClient? = nil,
        clock: any MonotonicClock = SystemClock(), tracer: (any Tracer)? = nil,
        metricsFactory: (any MetricsFactory)? = nil
    ) {
        metrics = ServiceClientMetrics(factory: metricsFactory ?? MetricsSystem.factory)
        self.discovery = discovery
        self.configuration = configuration
        self.clock = clock
        self.http = httpClient ?? HTTPClient(eventLoopGroupProvider: .singleton, configuration: .failingFast)
        ownsHTTPClient = httpClient == nil
        let tracer = tracer ?? InstrumentationSystem.tracer
        self.tracer = tracer is NoOpTracer ? nil : tracer
    }

    /// Follows each service called, a child task each, until graceful shutdown (or
    /// cancellation); then ends the subscriptions and closes the connections. A second
    /// `run()` only waits for the shutdown: the first one follows.
    public func run() async throws {
        guard !running.exchange(true, ordering: .relaxed) else {
            try? await gracefulShutdown()
            return
        }
        let discovery = discovery
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                for await balancer in self.toFollow.stream {
                    group.addTask { await balancer.follow(discovery) }
                }
                group.cancelAll()
            }
        }
        await shutdown()
    }

    /// Ends the subscriptions (and `run()`); closes the HTTP client if the client made it.
    public func shutdown() async {
        let followed = services.withLock { services in
            defer { services = nil }
            return services.map { Array($0.values) } ?? []
        }
        for service in followed { service.stop() }
        toFollow.continuation.finish()
        if ownsHTTPClient { try? await http.shutdown() }
    }

    /// Sends `request` to an instance of `service`. The request's URL is a path with an
    /// optional query (`/orders/42?expand=items`); the scheme and address come from the
    /// instance picked.
    ///
    /// - Parameter options: timeouts, retries and hedging; the configuration's by default.
    public func execute(
        service: String, _ request: HTTPClientRequest, options: CallOptions? = nil
    ) async throws -> HTTPClientResponse {
        guard request.url.hasPrefix("/") else {
            throw ServiceCallError.invalidRequest("the URL must be a path such as /orders/42, not '\(request.url)'")
        }
        let (balancer, latencies) = try await follow(service)
        return try await call(
            service: service, request, options: options ?? configuration.defaultOptions, balancer: balancer,
            latencies: latencies)
    }

    /// `GET path` on an instance of `service`.
    public func get(
        service: String, _ path: String, headers: HTTPHeaders = [:], options: CallOptions? = nil
    ) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: path)
        request.headers = headers
        return try await execute(service: service, request, options: options)
    }

    /// `POST path` with `body` on an instance of `service` (never retried: POST is not
    /// idempotent).
    public func post(
        service: String, _ path: String, body: ByteBuffer, headers: HTTPHeaders = [:], options: CallOptions? = nil
    ) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: path)
        request.method = .POST
        request.headers = headers
        request.body = .bytes(body)
        return try await execute(service: service, request, options: options)
    }

    /// The service's balancer, following it from the first call on.
    private func follow(_ service: String) async throws -> (ServiceBalancer, LatencyWindow) {
        let found = services.withLock { services -> Followed? in
            guard services != nil else { return nil }
            if let existing = services?[service] { return existing }
            let followed = Followed()
            services?[service] = followed
            return followed
        }
        guard let followed = found else { throw ServiceCallError.shutDown }
        let balancer: ServiceBalancer
        do {
            balancer = try await followed.balancer {
                let balancer = ServiceBalancer(
                    service: service, strategy: configuration.strategy, configuration: configuration.balancer,
                    clock: clock)
                balancer.apply(try await discovery.lookup(service))
                return balancer
            }
        } catch {
            // This caller gave up: the lookup goes on for the others, or for the next call.
            if Task.isCancelled { throw CancellationError() }
            if let error = error as? ServiceCallError { throw error }  // shut down
            // It failed: ask again on the next call.
            services.withLock { services in
                if services?[service] === followed { services?[service] = nil }
            }
            throw ServiceCallError.discoveryFailed(service: service, reason: "\(error)")
        }
        if followed.handOver() { toFollow.continuation.yield(balancer) }
        return (balancer, followed.latencies)
    }
}
