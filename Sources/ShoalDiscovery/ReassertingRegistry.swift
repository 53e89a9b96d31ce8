import ServiceLifecycle
import ShoalCore
import Synchronization

/// A registry that remembers the registrations made through it and puts them back when the
/// store behind it has lost them, as Consul's agents do (anti-entropy). `shoal serve` puts
/// one in front of a ``RedisRegistry``, so a Redis that fails over to a replica that missed
/// the last registrations, or comes back empty, has every instance that still renews back
/// within one renewal, or within ``interval``, whichever comes first.
///
/// - A renewal of an instance the store no longer knows registers it again, from what it
///   was registered with (and its latest health), and succeeds, if it was registered or
///   renewed through this registry within its time-to-live. Otherwise it fails as before,
///   and the owner registers again.
/// - ``run()`` also looks, every ``interval``, for registrations it accepted whose owners
///   still renew them but that the store no longer has, and registers them again; while
///   the store cannot be reached, it waits.
///
/// Registrations made through another process are that process's to put back.
public final class ReassertingRegistry: ServiceRegistry, ServiceDiscovery, Service {
    public let base: any ServiceRegistry & ServiceDiscovery & Service
    /// How often ``run()`` compares the registrations it accepted with the store. Default 1 s.
    public let interval: Duration
    public let clock: any MonotonicClock
    private let accepted = Mutex(AcceptedRegistrations())

    public init(
        _ base: any ServiceRegistry & ServiceDiscovery & Service, interval: Duration = .seconds(1),
        clock: any MonotonicClock = SystemClock()
    ) {
        self.base = base
        self.interval = interval
        self.clock = clock
    }

    public func register(_ instance: ServiceInstance, ttl: Duration) async throws -> ServiceInstance {
        let stored = try await base.register(instance, ttl: ttl)
        let now = clock.now()
        accepted.withLock { $0.accepted(instance, ttl: ttl, at: now) }
        return stored
    }

    public func renew(service: String, id: String) async throws -> Bool {
        let renewed = try await base.renew(service: service, id: id)
        let now = clock.now()
        let entry = accepted.withLock { $0.renewed(service: service, id: id, at: now) }
        if renewed { return true }
        guard let entry else { return false }
        _ = try await base.register(entry.instance, ttl: entry.ttl)  // the store lost it: put it back
        return true
    }

    public func deregister(service: String, id: String) async throws -> Bool {
        accepted.withLock { $0.removed(service: service, id: id) }
        return try await base.deregister(service: service, id: id)
    }

    public func setHealth(_ health: HealthStatus, service: String, id: String) async throws -> Bool {
        let known = try await base.setHealth(health, service: service, id: id)
        if known { accepted.withLock { $0.health(health, service: service, id: id) } }
        return known
    }

    public func lookup(_ service: String) async throws -> ServiceSnapshot { try await base.lookup(service) }

    public func services() async throws -> [ServiceSummary] { try await base.services() }

    public func subscribe(_ service: String) -> AsyncStream<ServiceSnapshot> { base.subscribe(service) }

    public func watch(_ service: String) -> AsyncStream<ServiceEvent> { base.watch(service) }

    public func changes(
        _ service: String, after index: UInt64, wait: Duration, clock: any MonotonicClock
    ) async throws -> ServiceEvent {
        try await base.changes(service, after: index, wait: wait, clock: clock)
    }

    /// Runs the store and puts back what it lost, until graceful shutdown or cancellation.
    public func run() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await self.base.run() }
            group.addTask {
                await cancelWhenGracefulShutdown {
                    while !Task.isCancelled {
                        await self.reassert()
                        try? await self.clock.sleep(until: self.clock.now() + self.interval)
                    }
                }
            }
        }
    }

    /// Registers again the live registrations that the store no longer has.
    func reassert() async {
        let live = accepted.withLock { [clock] in $0.live(at: clock.now()) }
        for (service, entries) in live {
            guard let present = await presentIDs(service) else { continue }
            for entry in AcceptedRegistrations.missing(entries, from: present) {
                _ = try? await base.register(entry.instance, ttl: entry.ttl)
            }
        }
    }

    /// The ids the store holds for `service`, `nil` while it cannot say: listed alone when
    /// the store can (a 10,000-instance service read whole every second cost `shoal serve`
    /// more than all of its other work), else from a lookup.
    private func presentIDs(_ service: String) async -> Set<String>? {
        if let listing = base as? any InstanceIDListing {
            return try? await listing.liveIDs(service)
        }
        guard let snapshot = try? await base.lookup(service), !snapshot.isStale else { return nil }
        return Set(snapshot.instances.map(\.id))
    }
}
