import ServiceLifecycle
import ShoalCore

/// Keeps one instance registered while it runs: registers it, renews it every third of its
/// TTL (registering it again if the registry forgot it), and deregisters it on graceful
/// shutdown or cancellation.
///
/// ```swift
/// let registration = Registration(registry: registry, instance: me, ttl: .seconds(10))
/// let group = ServiceGroup(services: [registration, server], logger: logger)
/// try await group.run()   // SIGTERM: deregistered before the process exits
/// ```
///
/// A process that crashes stops renewing; its instance expires within the TTL.
public final class Registration: Service {
    public let registry: any ServiceRegistry
    public let instance: ServiceInstance
    public let ttl: Duration
    public let clock: any MonotonicClock

    public init(
        registry: any ServiceRegistry, instance: ServiceInstance, ttl: Duration,
        clock: any MonotonicClock = SystemClock()
    ) {
        self.registry = registry
        self.instance = instance
        self.ttl = ttl
        self.clock = clock
    }

    /// Registers, then renews until graceful shutdown or cancellation, then deregisters.
    ///
    /// - Throws: the first registration's error (a bad TTL, a registry that cannot be
    ///   reached); later failures are retried at the next renewal.
    public func run() async throws {
        _ = try await registry.register(instance, ttl: ttl)
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await self.clock.sleep(until: self.clock.now() + self.ttl / 3)
                } catch {
                    break
                }
                do {
                    if try await !self.registry.renew(service: self.instance.service, id: self.instance.id) {
                        _ = try await self.registry.register(self.instance, ttl: self.ttl)
                    }
                } catch {
                    continue  // the registry is away: try again at the next renewal
                }
            }
        }
        // In a task of its own: this one may be cancelled, which would cancel the request.
        let (registry, instance) = (registry, instance)
        await Task { _ = try? await registry.deregister(service: instance.service, id: instance.id) }.value
    }
}
