import Hummingbird
import NIOCore
import ServiceLifecycle
import ShoalCore
import ShoalDiscovery
import Synchronization

/// Registers a Hummingbird application in a registry once its server listens: after bind,
/// with the port it really got (so port 0 works). It renews the registration while the
/// application runs, and on graceful shutdown deregisters it before the listener closes.
///
/// ```swift
/// let registration = ApplicationRegistration(registry: registry, service: "orders")
/// let router = Router()
/// registration.addHealthRoute(to: router)
/// let app = Application(
///     router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
///     onServerRunning: registration.serverRunning)
/// // The registration after the application: a ServiceGroup shuts down in reverse order.
/// let group = ServiceGroup(services: [app, registration], gracefulShutdownSignals: [.sigterm], logger: logger)
/// try await group.run()
/// ```
///
/// With a registry that runs active checks (a ``ShoalDiscovery/HealthCheckingRegistry``,
/// such as `shoal serve` through `HTTPRegistryClient`), the registration asks it to probe
/// the health route. The application sets its own health with ``setHealth(_:)``, for
/// example `.warning` while it drains.
public final class ApplicationRegistration: Service, Sendable {
    public let registry: any ServiceRegistry
    public let service: String
    /// The instance id; by default `<service>-<address>-<port>`.
    public let id: String?
    /// The address other processes reach the application at.
    public let address: String
    public let ttl: Duration
    public let weight: Double
    public let zone: String?
    public let metadata: [String: String]
    /// The path of the health route, and of the registry's active check.
    public let healthPath: String
    /// The registry's active check of the health route; `nil` for none.
    public let check: HealthCheck?
    /// How long to wait after deregistering before the listener closes. Default 0.
    public let drainDelay: Duration
    public let clock: any MonotonicClock

    private struct State {
        var port: Int?
        var waiters: [CheckedContinuation<Int?, Never>] = []
        var shuttingDown = false
        var health = HealthStatus.passing
        var registration: Registration?
    }

    private let state = Mutex(State())

    /// - Parameters:
    ///   - checkInterval: how often the registry probes the health route (when it runs
    ///     checks); `nil` for no active check.
    public init(
        registry: any ServiceRegistry, service: String, id: String? = nil, address: String = "127.0.0.1",
        ttl: Duration = .seconds(10), weight: Double = 1, zone: String? = nil, metadata: [String: String] = [:],
        healthPath: String = "/health", checkInterval: Duration? = .seconds(5), drainDelay: Duration = .zero,
        clock: any MonotonicClock = SystemClock()
    ) throws(DiscoveryError) {
        self.registry = registry
        self.service = service
        self.id = id
        self.address = address
        self.ttl = ttl
        self.weight = weight
        self.zone = zone
        self.metadata = metadata
        self.healthPath = healthPath
        self.check = try checkInterval.map { interval throws(DiscoveryError) in
            try HealthCheck(
                .http(path: healthPath), interval: interval, timeout: min(interval, .seconds(2)), fall: 2, rise: 2)
        }
        self.drainDelay = drainDelay
        self.clock = clock
    }

    /// For `Application(onServerRunning:)`: notes the port the server bound.
    public func serverRunning(_ channel: any Channel) async {
        guard let port = channel.localAddress?.port else { return }
        let waiters = state.withLock { state in
            state.port = port
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: port) }
    }

    /// The port the application listens on, once it does.
    public var port: Int? { state.withLock { $0.port } }

    /// The health the application reports: on its health route, and in the registry.
    public var health: HealthStatus { state.withLock { $0.health } }

    /// Sets the application's health. The health route answers 503 while it is critical;
    /// the registry gets the new health at once, if the application is registered.
    public func setHealth(_ health: HealthStatus) async throws {
        let registration = state.withLock { state in
            state.health = health
            return state.registration
        }
        try await registration?.setHealth(health)
    }

    /// Adds `GET <healthPath>`: 200 with `{"status":"passing"}` (or `warning`), 503 with
    /// `{"status":"critical"}`.
    public func addHealthRoute<Context: RequestContext>(to router: Router<Context>) {
        router.get(RouterPath(healthPath)) { _, _ in
            let health = self.health
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(
                status: health == .critical ? .serviceUnavailable : .ok, headers: headers,
                body: ResponseBody(byteBuffer: ByteBuffer(string: #"{"status":"\#(health.rawValue)"}"#)))
        }
    }

    /// Waits for the server to listen, then keeps the application registered until
    /// graceful shutdown, when it deregisters it (and waits ``drainDelay``).
    public func run() async throws {
        let port = await withGracefulShutdownHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Int?, Never>) in
                let ready = state.withLock { state -> Int?? in
                    if let port = state.port { return .some(port) }
                    if state.shuttingDown { return .some(nil) }
                    state.waiters.append(continuation)
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onGracefulShutdown: {
            let waiters = self.state.withLock { state in
                state.shuttingDown = true
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume(returning: nil) }
        }
        guard let port else { return }  // shut down before it listened
        let instance = try ServiceInstance(
            service: service, id: id ?? "\(service)-\(address)-\(port)", address: address, port: port, weight: weight,
            zone: zone, metadata: metadata, health: health)
        let registration = Registration(
            registry: registry, instance: instance, ttl: ttl, check: check, drainDelay: drainDelay, clock: clock)
        state.withLock { $0.registration = registration }
        try await registration.run()
    }
}
