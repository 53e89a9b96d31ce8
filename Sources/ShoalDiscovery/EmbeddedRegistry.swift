import ServiceLifecycle
import ShoalCore
import Synchronization

/// A registry in one process: the default for embedding and for `shoal serve` without Redis.
///
/// ```swift
/// let registry = EmbeddedRegistry()
/// let group = ServiceGroup(services: [registry, ...], logger: logger)   // runs the sweeper
/// _ = try await registry.register(instance, ttl: .seconds(10))
/// for await snapshot in registry.subscribe("payments") { balancer.update(snapshot.healthy) }
/// ```
///
/// An instance not renewed within its TTL is removed by the sweeper that ``run()`` runs,
/// at most ``sweepInterval`` after it expires, and watchers hear of it. Lookups never show
/// an expired instance, sweeper or not. TTLs are timed on ``clock``; registration times come
/// from ``wallClock``.
public final class EmbeddedRegistry: ServiceRegistry, ServiceDiscovery, Service {
    public let clock: any MonotonicClock
    public let wallClock: any WallClock
    /// The longest an expired instance lingers before the sweeper removes it. Default 250 ms.
    public let sweepInterval: Duration
    private let state = Mutex(State())

    private struct Entry {
        var instance: ServiceInstance
        var ttl: Duration
        var expiresAt: MonotonicInstant
    }

    private struct ServiceState {
        var index: UInt64 = 0
        var entries: [String: Entry] = [:]
        /// No entry expires before this (it may be earlier than the true earliest, after a
        /// renewal): a sweep looks at the entries only once it has passed.
        var earliestExpiry: MonotonicInstant?

        mutating func set(_ entry: Entry, for id: String) {
            entries[id] = entry
            earliestExpiry = min(earliestExpiry ?? entry.expiresAt, entry.expiresAt)
        }
    }

    private struct State {
        var services: [String: ServiceState] = [:]
        /// The registry-wide change counter; a service's index is its value at the
        /// service's last change.
        var index: UInt64 = 0
        var watchers: [String: [Int: AsyncStream<ServiceSnapshot>.Continuation]] = [:]
        var nextWatcher = 0
    }

    public init(
        clock: any MonotonicClock = SystemClock(), wallClock: any WallClock = SystemWallClock(),
        sweepInterval: Duration = .milliseconds(250)
    ) {
        self.clock = clock
        self.wallClock = wallClock
        self.sweepInterval = sweepInterval
    }

    public func register(_ instance: ServiceInstance, ttl: Duration) async throws -> ServiceInstance {
        try Self.checkTTL(ttl)
        let now = clock.now()
        let wallNow = wallClock.millisecondsSinceEpoch()
        return state.withLock { state in
            sweep(instance.service, at: now, &state)
            var stored = instance
            let previous = state.services[instance.service]?.entries[instance.id]
            stored.registeredAt = previous?.instance.registeredAt ?? wallNow
            stored.renewedAt = wallNow
            state.services[instance.service, default: ServiceState()].set(
                Entry(instance: stored, ttl: ttl, expiresAt: now + ttl), for: instance.id)
            if previous.map({ !$0.instance.sameRegistration(as: stored) }) ?? true {
                changed(instance.service, &state)
            }
            return stored
        }
    }

    public func renew(service: String, id: String) async throws -> Bool {
        let now = clock.now()
        let wallNow = wallClock.millisecondsSinceEpoch()
        return state.withLock { state in
            sweep(service, at: now, &state)
            guard var entry = state.services[service]?.entries[id] else { return false }
            entry.expiresAt = now + entry.ttl
            entry.instance.renewedAt = wallNow
            state.services[service]?.entries[id] = entry
            return true
        }
    }

    public func deregister(service: String, id: String) async throws -> Bool {
        let now = clock.now()
        return state.withLock { state in
            sweep(service, at: now, &state)
            guard state.services[service]?.entries.removeValue(forKey: id) != nil else { return false }
            changed(service, &state)
            return true
        }
    }

    public func setHealth(_ health: HealthStatus, service: String, id: String) async throws -> Bool {
        let now = clock.now()
        return state.withLock { state in
            sweep(service, at: now, &state)
            guard var entry = state.services[service]?.entries[id] else { return false }
            guard entry.instance.health != health else { return true }
            entry.instance.health = health
            state.services[service]?.entries[id] = entry
            changed(service, &state)
            return true
        }
    }

    public func lookup(_ service: String) async throws -> ServiceSnapshot {
        let now = clock.now()
        return state.withLock { state in
            sweep(service, at: now, &state)
            return Self.snapshot(service, state)
        }
    }

    public func services() async throws -> [ServiceSummary] {
        let now = clock.now()
        return state.withLock { state in
            for service in Array(state.services.keys) { sweep(service, at: now, &state) }
            return state.services.keys.sorted().compactMap { service in
                let entries = state.services[service]?.entries.values.map(\.instance.health) ?? []
                guard !entries.isEmpty else { return nil }
                return ServiceSummary(
                    service: service, index: state.services[service]?.index ?? 0,
                    passing: entries.count { $0 == .passing }, warning: entries.count { $0 == .warning },
                    critical: entries.count { $0 == .critical })
            }
        }
    }

    public func subscribe(_ service: String) -> AsyncStream<ServiceSnapshot> {
        let (stream, continuation) = AsyncStream.makeStream(
            of: ServiceSnapshot.self, bufferingPolicy: .bufferingNewest(1))
        let now = clock.now()
        let id = state.withLock { state in
            sweep(service, at: now, &state)
            state.nextWatcher += 1
            state.watchers[service, default: [:]][state.nextWatcher] = continuation
            continuation.yield(Self.snapshot(service, state))
            return state.nextWatcher
        }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { state in
                state.watchers[service]?[id] = nil
                if state.watchers[service]?.isEmpty == true { state.watchers[service] = nil }
            }
        }
        return stream
    }

    /// The number of watchers of `service`, for audits.
    public func watcherCount(_ service: String) -> Int {
        state.withLock { $0.watchers[service]?.count ?? 0 }
    }

    /// Sweeps expired instances until graceful shutdown or cancellation, then finishes
    /// every subscription.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let now = self.clock.now()
                let next = self.state.withLock { state -> MonotonicInstant in
                    for service in Array(state.services.keys) { self.sweep(service, at: now, &state) }
                    let earliest = state.services.values.compactMap(\.earliestExpiry).min()
                    return min(earliest ?? now + self.sweepInterval, now + self.sweepInterval)
                }
                try? await self.clock.sleep(until: next)
            }
        }
        // Finished outside the lock: finishing runs each stream's onTermination, which takes it.
        let watchers = state.withLock { state in
            defer { state.watchers = [:] }
            return state.watchers.values.flatMap(\.values)
        }
        for continuation in watchers { continuation.finish() }
    }

    /// Removes the service's expired instances (a change, if any).
    private func sweep(_ service: String, at now: MonotonicInstant, _ state: inout State) {
        guard let earliest = state.services[service]?.earliestExpiry, earliest <= now else { return }
        var expired: [String] = []
        var next: MonotonicInstant?
        for (id, entry) in state.services[service]?.entries ?? [:] {
            if entry.expiresAt <= now {
                expired.append(id)
            } else {
                next = min(next ?? entry.expiresAt, entry.expiresAt)
            }
        }
        state.services[service]?.earliestExpiry = next
        guard !expired.isEmpty else { return }
        for id in expired { state.services[service]?.entries[id] = nil }
        changed(service, &state)
    }

    /// Bumps the service's index and tells its watchers. Runs under the lock, so watchers
    /// see snapshots in index order.
    private func changed(_ service: String, _ state: inout State) {
        state.index += 1
        // A service's state stays when it empties, so its index never goes back.
        state.services[service, default: ServiceState()].index = state.index
        guard let watchers = state.watchers[service], !watchers.isEmpty else { return }
        let snapshot = Self.snapshot(service, state)
        for continuation in watchers.values { continuation.yield(snapshot) }
    }

    private static func snapshot(_ service: String, _ state: State) -> ServiceSnapshot {
        let entries = state.services[service]?.entries.values.map(\.instance) ?? []
        return ServiceSnapshot(
            service: service, index: state.services[service]?.index ?? 0,
            instances: entries.sorted { $0.id < $1.id })
    }
}
