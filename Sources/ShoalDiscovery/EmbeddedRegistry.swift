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
///
/// Watchers are told what changed, not the whole service: a change costs the registry the
/// changed instances, whatever the service's size. Each service keeps its last 1,024 changes
/// (naming up to 4,096 instances) for ``changes(_:after:wait:clock:)``.
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
        var log = ServiceChangeLog()
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
        var watchers: [String: [Int: ServiceEventMailbox]] = [:]
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
                changed(instance.service, upserted: [stored], &state)
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
            changed(service, removed: [id], &state)
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
            changed(service, upserted: [entry.instance], &state)
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

    /// Snapshots built by applying each change to the one before.
    public func subscribe(_ service: String) -> AsyncStream<ServiceSnapshot> {
        .applying(watch(service))
    }

    public func watch(_ service: String) -> AsyncStream<ServiceEvent> {
        watch(service, knowing: nil)
    }

    /// A watch that is not told the service when it is as it was at `index`.
    private func watch(_ service: String, knowing index: UInt64?) -> AsyncStream<ServiceEvent> {
        let now = clock.now()
        let id = state.withLock { state in
            state.nextWatcher += 1
            return state.nextWatcher
        }
        let (mailbox, events) = ServiceEventMailbox.make { [weak self] in
            self?.state.withLock { state in
                state.watchers[service]?[id] = nil
                if state.watchers[service]?.isEmpty == true { state.watchers[service] = nil }
            }
        }
        state.withLock { state in
            sweep(service, at: now, &state)
            state.watchers[service, default: [:]][id] = mailbox
            guard index == nil || index != state.services[service]?.index else { return }
            mailbox.post(Self.snapshot(service, state))
        }
        return events
    }

    /// What changed since `index`, from the service's change log when it still holds it; a
    /// blocking query otherwise.
    public func changes(
        _ service: String, after index: UInt64, wait: Duration, clock: any MonotonicClock = SystemClock()
    ) async throws -> ServiceEvent {
        let now = self.clock.now()
        return try await changes(service, after: index, wait: wait, clock: clock) {
            state.withLock { state -> ServiceEvent? in
                sweep(service, at: now, &state)
                let current = state.services[service]?.index ?? 0
                guard index != current else { return nil }  // nothing new yet
                // An index from elsewhere (another server, or before a restart): the service.
                guard index < current else { return .snapshot(Self.snapshot(service, state)) }
                guard let change = state.services[service]?.log.changes(after: index, service: service) else {
                    return .snapshot(Self.snapshot(service, state))
                }
                return .change(change)
            }
        } watch: { index in
            watch(service, knowing: index)
        }
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
        for mailbox in watchers { mailbox.finish() }
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
        changed(service, removed: expired, &state)
    }

    /// Bumps the service's index, logs the change and tells its watchers. Runs under the
    /// lock, so watchers see changes in index order.
    private func changed(
        _ service: String, upserted: [ServiceInstance] = [], removed: [String] = [], _ state: inout State
    ) {
        state.index += 1
        let change = ServiceChange(service: service, index: state.index, upserted: upserted, removed: removed)
        // A service's state stays when it empties, so its index never goes back.
        state.services[service, default: ServiceState()].index = state.index
        state.services[service]?.log.append(change)
        guard let watchers = state.watchers[service], !watchers.isEmpty else { return }
        let current = state
        for mailbox in watchers.values {
            mailbox.post(change) { Self.snapshot(service, current) }
        }
    }

    private static func snapshot(_ service: String, _ state: State) -> ServiceSnapshot {
        let entries = state.services[service]?.entries.values.map(\.instance) ?? []
        return ServiceSnapshot(
            service: service, index: state.services[service]?.index ?? 0,
            instances: entries.sorted { $0.id < $1.id })
    }
}
