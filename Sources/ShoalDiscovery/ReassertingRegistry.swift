import ServiceLifecycle
import ShoalCore
import Synchronization

/// A registry that remembers the registrations made through it and puts them back when the
/// store behind it has lost them, as Consul's agents do (anti-entropy). `shoal serve` puts
/// one in front of a ``RedisRegistry``, so a Redis that fails over to a replica that missed
/// the last registrations, or comes back empty, has every instance that still renews back
/// within one renewal, or within one round of checks, whichever comes first: a round takes
/// ``interval`` for each ``checksPerInterval`` registrations (1 s for up to 1,000, 10 s for
/// 10,000).
///
/// - A renewal of an instance the store no longer knows registers it again, from what it
///   was registered with (and its latest health), and succeeds, if it was registered or
///   renewed through this registry within its time-to-live. Otherwise it fails as before,
///   and the owner registers again.
/// - ``run()`` also asks the store, every ``interval``, whether it still has the next
///   ``checksPerInterval`` of the registrations it accepted whose owners still renew them,
///   and registers again those it lacks; while the store cannot be reached, it waits.
///
/// Registrations made through another process are that process's to put back.
public final class ReassertingRegistry: ServiceRegistry, ServiceDiscovery, Service {
    public let base: any ServiceRegistry & ServiceDiscovery & Service
    /// How often ``run()`` compares registrations it accepted with the store. Default 1 s.
    public let interval: Duration
    /// The most registrations compared at each ``interval``. Default 1,000, a millisecond or
    /// two of Redis's time.
    public let checksPerInterval: Int
    public let clock: any MonotonicClock
    private let accepted = Mutex(AcceptedRegistrations())

    public init(
        _ base: any ServiceRegistry & ServiceDiscovery & Service, interval: Duration = .seconds(1),
        checksPerInterval: Int = 1000, clock: any MonotonicClock = SystemClock()
    ) {
        self.base = base
        self.interval = interval
        self.checksPerInterval = max(checksPerInterval, 1)
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

    /// Registers again those of the next live registrations to check that the store no
    /// longer has.
    func reassert() async {
        let checks = accepted.withLock { [clock, checksPerInterval] in
            $0.nextChecks(at: clock.now(), limit: checksPerInterval)
        }
        for (service, entries) in checks {
            guard let absent = await absentIDs(service, among: entries.map(\.instance.id)) else { continue }
            for entry in AcceptedRegistrations.missing(entries, absent: absent) {
                _ = try? await base.register(entry.instance, ttl: entry.ttl)
            }
        }
    }

    /// Those of `ids` that the store lacks for `service`, `nil` while it cannot say: asked
    /// of the store for those ids alone when it can (a 10,000-instance service read whole
    /// every second cost `shoal serve` more than all of its other work), else from a lookup.
    private func absentIDs(_ service: String, among ids: [String]) async -> Set<String>? {
        if let listing = base as? any InstanceIDListing {
            return try? await listing.absentIDs(service, among: ids)
        }
        guard let snapshot = try? await base.lookup(service), !snapshot.isStale else { return nil }
        return Set(ids).subtracting(snapshot.instances.map(\.id))
    }
}
