import ServiceLifecycle
import ShoalCore
import Synchronization

/// Keeps one instance registered while it runs: registers it, renews it every third of its
/// TTL (registering it again if the registry forgot it), and deregisters it on graceful
/// shutdown or cancellation.
///
/// ```swift
/// let registration = Registration(registry: registry, instance: me, ttl: .seconds(10))
/// let group = ServiceGroup(services: [server, registration], logger: logger)
/// try await group.run()   // SIGTERM: deregistered first, then the server stops
/// ```
///
/// A `ServiceGroup` shuts its services down in reverse order: put the registration after
/// the server it announces, so it is deregistered while the server still answers.
/// A process that crashes stops renewing; its instance expires within the TTL.
public final class Registration: Service {
    public let registry: any ServiceRegistry
    public let ttl: Duration
    /// The active check the registry runs, when it runs checks (a ``HealthCheckingRegistry``).
    public let check: HealthCheck?
    /// How long to wait after deregistering before returning (and so before the services
    /// before it in a group shut down): time for callers to see the instance go.
    public let drainDelay: Duration
    public let clock: any MonotonicClock
    private let current: Mutex<ServiceInstance>

    public init(
        registry: any ServiceRegistry, instance: ServiceInstance, ttl: Duration, check: HealthCheck? = nil,
        drainDelay: Duration = .zero, clock: any MonotonicClock = SystemClock()
    ) {
        self.registry = registry
        self.ttl = ttl
        self.check = check
        self.drainDelay = drainDelay
        self.clock = clock
        current = Mutex(instance)
    }

    /// The instance as it is registered (its health as last set).
    public var instance: ServiceInstance { current.withLock { $0 } }

    /// Sets the instance's health in the registry (registering it again if it was forgotten)
    /// and for later registrations.
    public func setHealth(_ health: HealthStatus) async throws {
        let instance = current.withLock { instance in
            instance.health = health
            return instance
        }
        if try await !registry.setHealth(health, service: instance.service, id: instance.id) {
            try await register()
        }
    }

    /// Registers, then renews until graceful shutdown or cancellation, then deregisters.
    ///
    /// A registry that cannot be reached (at the start, or later) is tried again: at first
    /// after 100 ms, doubling up to a third of the TTL, so a process that starts before its
    /// registry registers as soon as it can.
    ///
    /// - Throws: ``DiscoveryError`` with ``DiscoveryError/Code-swift.struct/invalidArgument``
    ///   when the registry refuses the instance or the TTL; retrying cannot help then.
    public func run() async throws {
        let refused: DiscoveryError? = await cancelWhenGracefulShutdown {
            var registered = false
            var failures = 0
            while !Task.isCancelled {
                if !registered {
                    do {
                        try await self.register()
                        registered = true
                        failures = 0
                    } catch let error as DiscoveryError where error.code == .invalidArgument {
                        return error
                    } catch {
                        failures += 1
                    }
                }
                let pause = registered ? self.ttl / 3 : min(self.ttl / 3, .milliseconds(100) * (1 << min(failures, 10)))
                do {
                    try await self.clock.sleep(until: self.clock.now() + pause)
                } catch {
                    break
                }
                guard registered else { continue }
                let instance = self.instance
                do {
                    // Forgotten (expired, or the registry restarted empty): register again now.
                    if try await !self.registry.renew(service: instance.service, id: instance.id) {
                        registered = false
                        try await self.register()
                        registered = true
                    }
                } catch {
                    continue  // the registry is away: try again at the next renewal
                }
            }
            return nil
        }
        if let refused { throw refused }
        // In a task of its own: this one may be cancelled, which would cancel the request.
        let (registry, instance) = (registry, instance)
        await Task { _ = try? await registry.deregister(service: instance.service, id: instance.id) }.value
        if drainDelay > .zero { try? await clock.sleep(until: clock.now() + drainDelay) }
    }

    private func register() async throws {
        let instance = instance
        if let check, let checking = registry as? any HealthCheckingRegistry {
            _ = try await checking.register(instance, ttl: ttl, check: check)
        } else {
            _ = try await registry.register(instance, ttl: ttl)
        }
    }
}
