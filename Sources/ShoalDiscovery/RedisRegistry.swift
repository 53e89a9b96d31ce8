import NIOCore
import ServiceLifecycle
import ShoalCore
import ShoalRESP
import ShoalRedis
import Synchronization

/// A registry shared by every process that reaches one Redis server.
///
/// ```swift
/// let registry = RedisRegistry(configuration: try RedisConfiguration(url: "redis://10.0.0.5:6379"))
/// // run `registry` in a ServiceGroup: subscriptions are served while it runs
/// for await snapshot in registry.subscribe("payments") { … }
/// ```
///
/// Everything the registry does in the background (listening for changes, the lookups that
/// follow them, the sweeper, the pool's upkeep) runs inside ``run()``, so graceful shutdown
/// and cancellation reach all of it. Calls (register, lookup, …) work without it;
/// subscriptions get their first snapshot once it runs.
///
/// - Each change (a registration that differs, a deregistration, a health change, an
///   expiry) is one Lua script that also bumps the service's index and publishes it with the
///   instances it changed, so watchers in every process are pushed the change, not left to
///   poll. A watcher reads only those instances, and the whole service only when notices
///   went missing (their indexes do not follow on), named more than 1,024 instances since
///   its last read, came from an older `shoal` that names none, or a ``lookup(_:)`` read the
///   service past what the watchers were told.
/// - Instances carry an expiry in server time; lookups never show an expired one, and the
///   sweeper that ``run()`` runs removes them (and tells watchers) at most
///   ``sweepInterval`` after they expire. Any number of processes may sweep.
/// - After the subscriber reconnects, every watched service is looked up again in full.
/// - While Redis cannot be reached, ``lookup(_:)`` serves the last snapshot it saw, marked
///   ``ServiceSnapshot/isStale``. The sweeper notices within ``sweepInterval`` and gives
///   watchers that stale snapshot once, then a fresh one when Redis is back.
/// - Redis may come back having lost data (restarted empty or from an older snapshot, a
///   replica promoted too early). For one time-to-live after Redis went away or came back
///   (or the subscriber reconnected, or a service's index went back), watchers keep seeing
///   each instance they knew that is missing, until it registers again or its time-to-live
///   passes; see `RegistryContinuity`. A gateway thus keeps routing to instances that are
///   still there while they register again. An instance deregistered in that window leaves
///   the watchers' view up to one time-to-live late.
///
/// Registration times are the Redis server's clock. The keys are listed on
/// `RedisRegistryKeys` in the source; the registry needs a standalone Redis (its sweeper
/// touches keys it derives), not a cluster.
public final class RedisRegistry: ServiceRegistry, ServiceDiscovery, InstanceIDListing, Service {
    public let pool: RedisConnectionPool
    public let subscriber: RedisSubscriber
    public let keyPrefix: String
    /// How often the sweeper looks for expired instances. Default 250 ms.
    public let sweepInterval: Duration
    /// Times the instances kept after Redis lost data.
    public let clock: any MonotonicClock
    private let keys: RedisRegistryKeys
    private let state = Mutex(State())
    /// Services to look up again for their watchers (`nil`: any index), served by ``run()``.
    private let refreshes: AsyncStream<(service: String, beyond: UInt64?)>
    private let refreshRequests: AsyncStream<(service: String, beyond: UInt64?)>.Continuation
    /// Whether ``run()`` was called: only the first serves (a stream has one reader).
    private let running = Atomic<Bool>(false)
    /// How long a service is still followed after its last watcher left: 60 s.
    static let watchLinger = Duration.seconds(60)

    private struct Watched {
        /// The watchers, the last state they were told of, and the recent changes.
        var watchers = ServiceWatchers()
        /// Since when nobody watches: the service is still followed for ``watchLinger``, so
        /// that a blocking query that follows another finds it up to date.
        var idleSince: MonotonicInstant?
        /// Instances kept for the watchers after Redis lost data.
        var continuity = RegistryContinuity()
        /// A lookup for the watchers is under way; `again` asks it for one more when done.
        var refreshing = false
        var again = false
        /// Notices not yet read, in the order published.
        var notices: [RedisRegistryNotice] = []
        /// Whether the next read must be of the whole service.
        var readAll = true
    }

    private struct State {
        /// The last state of each service read from Redis, with its instances' TTLs.
        var cache: [String: CachedService] = [:]
        var watched: [String: Watched] = [:]
        var nextWatcher = 0
        var listener: RedisSubscriber.Listener?
    }

    /// A registry on the server `configuration` names, with a pool and a subscriber of its own.
    public convenience init(
        configuration: RedisConfiguration, keyPrefix: String = "shoal:registry:",
        sweepInterval: Duration = .milliseconds(250), clock: any MonotonicClock = SystemClock()
    ) {
        self.init(
            pool: RedisConnectionPool(configuration: configuration),
            subscriber: RedisSubscriber(configuration: configuration), keyPrefix: keyPrefix,
            sweepInterval: sweepInterval, clock: clock)
    }

    public init(
        pool: RedisConnectionPool, subscriber: RedisSubscriber, keyPrefix: String = "shoal:registry:",
        sweepInterval: Duration = .milliseconds(250), clock: any MonotonicClock = SystemClock()
    ) {
        self.clock = clock
        self.pool = pool
        self.subscriber = subscriber
        self.keyPrefix = keyPrefix
        self.sweepInterval = sweepInterval
        self.keys = RedisRegistryKeys(prefix: keyPrefix)
        (refreshes, refreshRequests) = AsyncStream.makeStream()
    }

    public func register(_ instance: ServiceInstance, ttl: Duration) async throws -> ServiceInstance {
        try Self.checkTTL(ttl)
        let stored = StoredRegistration(instance, ttl: ttl)
        let reply = try await evaluate(
            RedisRegistryScripts.register, service: instance.service,
            arguments: [
                instance.service, instance.id, stored.json(), instance.health.rawValue,
                String(stored.ttlMilliseconds), keys.changes,
            ])
        guard case .array(let parts) = reply, parts.count == 4, case .integer(let registeredAt) = parts[2],
            case .integer(let now) = parts[3]
        else { throw Self.unexpected(reply, "registering \(instance.service)/\(instance.id)") }
        var result = instance
        result.registeredAt = registeredAt
        result.renewedAt = now
        return result
    }

    public func renew(service: String, id: String) async throws -> Bool {
        let reply = try await evaluate(RedisRegistryScripts.renew, service: service, arguments: [service, id])
        guard case .array(let parts) = reply, parts.count == 2 else { throw Self.unexpected(reply, "renewing \(id)") }
        return parts[0] == .integer(1)
    }

    public func deregister(service: String, id: String) async throws -> Bool {
        let reply = try await evaluate(
            RedisRegistryScripts.deregister, service: service, arguments: [service, id, keys.changes])
        return reply == .integer(1)
    }

    public func setHealth(_ health: HealthStatus, service: String, id: String) async throws -> Bool {
        let reply = try await evaluate(
            RedisRegistryScripts.setHealth, service: service, arguments: [service, id, health.rawValue, keys.changes])
        guard case .array(let parts) = reply, parts.count == 2 else { throw Self.unexpected(reply, "setting health") }
        return parts[0] == .integer(1)
    }

    public func lookup(_ service: String) async throws -> ServiceSnapshot {
        try await lookupWithTTLs(service).snapshot
    }

    /// ``lookup(_:)``, with the time-to-live of each instance, by id.
    private func lookupWithTTLs(_ service: String) async throws -> (snapshot: ServiceSnapshot, ttls: [String: Duration])
    {
        do {
            let fetched = try await fetch(service)
            state.withLock { $0.cache[service] = CachedService(fetched.snapshot, ttls: fetched.ttls) }
            return fetched
        } catch let error as DiscoveryError where error.code == .backendFailure {
            guard let cached = state.withLock({ $0.cache[service] }) else { throw error }
            return (cached.snapshot(service: service, isStale: true), cached.ttls)
        }
    }

    /// Those of `ids` that are not live instances of `service`, asked without reading the
    /// instances: a millisecond or two of Redis's time for 1,000 ids.
    public func absentIDs(_ service: String, among ids: [String]) async throws -> Set<String> {
        guard !ids.isEmpty else { return [] }
        let reply = try await evaluate(RedisRegistryScripts.absentIDs, service: service, arguments: [service] + ids)
        guard case .array(let absent) = reply else { throw Self.unexpected(reply, "checking ids of \(service)") }
        return Set(absent.compactMap(\.string))
    }

    public func services() async throws -> [ServiceSummary] {
        let reply = try await send(RESPCommand("SMEMBERS", keys.services))
        switch reply {
        case .set(let members), .array(let members): return try await summaries(members.compactMap(\.string))
        default: throw Self.unexpected(reply, "listing services")
        }
    }

    /// Snapshots built by applying each change to the one before.
    public func subscribe(_ service: String) -> AsyncStream<ServiceSnapshot> {
        .applying(watch(service))
    }

    /// The service as events. A service nobody followed is read whole first (once ``run()``
    /// listens for changes); a new watcher of one already followed is told its state at once.
    public func watch(_ service: String) -> AsyncStream<ServiceEvent> {
        watch(service, knowing: nil)
    }

    /// A watch that is not told the service when it is as it was at `index`.
    private func watch(_ service: String, knowing index: UInt64?) -> AsyncStream<ServiceEvent> {
        let id = state.withLock { state in
            state.nextWatcher += 1
            return state.nextWatcher
        }
        let (mailbox, events) = ServiceEventMailbox.make { [weak self] in
            guard let self else { return }
            let now = clock.now()
            state.withLock { state in
                state.watched[service]?.watchers.remove(id: id)
                if state.watched[service]?.watchers.isEmpty == true { state.watched[service]?.idleSince = now }
            }
        }
        let followed = state.withLock { state in
            let followed = state.watched[service] != nil
            state.watched[service, default: Watched()].watchers.add(mailbox, id: id, knowing: index)
            state.watched[service]?.idleSince = nil
            return followed
        }
        if !followed { refreshRequests.yield((service, nil)) }  // served by run(), once it listens
        return events
    }

    /// What changed since `index`, from the changes kept while the service is followed; a
    /// blocking query otherwise.
    public func changes(
        _ service: String, after index: UInt64, wait: Duration, clock: any MonotonicClock
    ) async throws -> ServiceEvent {
        try await changes(service, after: index, wait: wait, clock: clock) {
            state.withLock { $0.watched[service]?.watchers.changes(after: index, service: service) }
        } watch: { index in
            watch(service, knowing: index)
        }
    }

    /// The number of watchers of `service`, for audits.
    public func watcherCount(_ service: String) -> Int {
        state.withLock { $0.watched[service]?.watchers.count ?? 0 }
    }

    /// Listens for changes and looks services up again for their watchers, sweeps expired
    /// instances, and runs the pool's upkeep (``RedisConnectionPool/run()``, which follows
    /// failovers when the configuration names sentinels) and the subscriber's reconnection
    /// (``RedisSubscriber/run()``), until graceful shutdown or cancellation. Then it stops
    /// listening, finishes every subscription and closes the connections: nothing it started
    /// is left running. A second `run()` only waits for the shutdown.
    public func run() async throws {
        guard !running.exchange(true, ordering: .relaxed) else {
            try? await gracefulShutdown()
            return
        }
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { try? await self.pool.run() }
                group.addTask { try? await self.subscriber.run() }
                group.addTask { await self.sweep() }
                group.addTask {
                    await self.listen()  // subscribed to changes before the first lookups
                    await self.serveRefreshes()
                }
            }
        }
        await close()
    }

    /// Looks up each service asked for, each lookup a child task (``refresh(_:ifBeyond:)``
    /// coalesces those of one service), until cancelled.
    private func serveRefreshes() async {
        await withDiscardingTaskGroup { group in
            for await request in refreshes {
                group.addTask { await self.refresh(request.service, ifBeyond: request.beyond) }
            }
        }
    }

    private func sweep() async {
        var reachable = true
        while !Task.isCancelled {
            let swept = try? await pool.evaluate(
                RedisRegistryScripts.sweep, keys: [keys.expiries], arguments: [keyPrefix, keys.changes, "1000"])
            if (swept != nil) != reachable {  // Redis went away or came back: tell watchers
                reachable = swept != nil
                for service in disrupted() { await refresh(service) }
            }
            let now = clock.now()
            let due = state.withLock { state in
                state.watched = state.watched.filter { $0.value.idleSince.map { now - $0 < Self.watchLinger } ?? true }
                return state.watched.filter { $0.value.continuity.nextRelease.map { $0 <= now } ?? false }.map(\.key)
            }
            for service in due { await refresh(service) }  // a kept instance's time is up
            try? await Task.sleep(for: sweepInterval)
        }
    }

    /// Stops listening, finishes every subscription and closes the connections.
    public func close() async {
        let (listener, watchers) = state.withLock { state in
            defer {
                state.watched = [:]
                state.listener = nil
            }
            return (state.listener, state.watched.values.flatMap(\.watchers.all))
        }
        listener?.cancel()
        refreshRequests.finish()
        for mailbox in watchers { mailbox.finish() }  // outside the lock: onTermination takes it
        await subscriber.close()
        await pool.close()
    }

    /// Subscribes to change notices, retrying while Redis is away, until subscribed or
    /// cancelled. Notices ask ``run()`` for lookups.
    private func listen() async {
        var attempt = 0
        while !Task.isCancelled {
            do {
                let listener = try await subscriber.listen(to: keys.changes) { [weak self] event in
                    guard let self else { return }
                    switch event {
                    case .message(let message):
                        let text = String(buffer: message.payload)
                        guard let notice = RedisRegistryNotice(text) else {
                            // Not one of ours as we know them: read the service it may name.
                            guard let service = text.split(separator: " ").first else { return }
                            self.refreshRequests.yield((String(service), nil))
                            return
                        }
                        self.noticed(notice)
                    case .resubscribed:
                        for service in self.disrupted() { self.refreshRequests.yield((service, nil)) }
                    }
                }
                state.withLock { $0.listener = listener }
                return
            } catch {
                // Redis is away: tell watchers their snapshot is stale, and try again.
                for service in disrupted() { await refresh(service) }
                try? await Task.sleep(for: subscriber.backoff.delay(attempt: attempt))
                attempt += 1
            }
        }
    }

    /// Tells the watchers of a notice's service, if any, what it changed.
    ///
    /// A notice that carries every instance it names and follows on from the last read, with
    /// no read under way or waiting, is applied here, on the subscriber's event loop: the
    /// watchers hear of it without a task or a round trip to Redis. Any other is kept, and a
    /// read asked for: of the read under way, if there is one (so a burst of notices costs no
    /// task each), else of ``run()``.
    private func noticed(_ notice: RedisRegistryNotice) {
        let ask = state.withLock { state in
            // Changed in place, never copied out: a copy would copy the notices on append.
            guard state.watched[notice.service] != nil else { return false }
            if Self.applyCarried(notice, to: &state, at: clock.now()) { return false }
            if notice.previous == nil {
                state.watched[notice.service]?.readAll = true
            } else {
                state.watched[notice.service]?.notices.append(notice)
            }
            guard state.watched[notice.service]?.refreshing == true else { return true }
            if notice.index > state.watched[notice.service]?.watchers.last?.index ?? 0 {
                state.watched[notice.service]?.again = true
            }
            return false
        }
        if ask { refreshRequests.yield((notice.service, notice.index)) }
    }

    /// The most instances a notice applied on the subscriber's event loop may carry: each is
    /// JSON to decode, and the loop serves connections too. Shoal's scripts name one instance
    /// in a registration's notice.
    static let carriedOnLoopLimit = 16

    /// Applies `notice` for the watchers of its service and returns `true`, when it follows on
    /// from the last read, carries every instance it names (at most ``carriedOnLoopLimit``),
    /// and no read is under way or waiting (a read's notices come first).
    private static func applyCarried(
        _ notice: RedisRegistryNotice, to state: inout State, at now: MonotonicInstant
    ) -> Bool {
        let service = notice.service
        guard notice.upserted.count <= carriedOnLoopLimit, state.watched[service]?.refreshing == false,
            state.watched[service]?.readAll == false,
            state.watched[service]?.notices.isEmpty == true, let index = base(of: service, in: state),
            let (change, ttls) = notice.carriedChange(from: index)
        else { return false }
        if index < change.index { state.cache[service]?.apply(change, ttls: ttls) }
        // Taken out of the dictionary, so that changing it copies none of its buffers.
        guard var watched = state.watched.removeValue(forKey: service) else { return false }
        publish(change, ttls: ttls, to: &watched, cached: state.cache[service], at: now)
        state.watched[service] = watched
        return true
    }

    /// The index that both the cache and the watchers of `service` are at: what the changes
    /// that notices name apply to. `nil` when they differ, because a lookup read the service
    /// past what the watchers were told: notices up to that index would then be taken as
    /// known, and the watchers would never hear of their changes. The next read is whole.
    private static func base(of service: String, in state: State) -> UInt64? {
        guard let index = state.cache[service]?.index, index == state.watched[service]?.watchers.last?.index
        else { return nil }
        return index
    }

    /// Redis may have lost data: every watched service keeps its missing instances for a
    /// while. Returns the watched services.
    private func disrupted() -> [String] {
        let now = clock.now()
        return state.withLock { state in
            for service in state.watched.keys { state.watched[service]?.continuity.disrupted(at: now) }
            return Array(state.watched.keys)
        }
    }

    /// Reads the service and passes the snapshot to its watchers if it is newer than what
    /// they have (or tells them it went stale): the instances its notices named, when they
    /// follow on from the last read, or else all of it.
    ///
    /// One read runs at a time per service. A change that arrives during one asks for one
    /// more after it, so a burst of changes costs two reads, not one each.
    private func refresh(_ service: String, ifBeyond index: UInt64? = nil) async {
        let start = state.withLock { state -> Bool in
            guard var watched = state.watched[service] else { return false }  // nobody watches it
            if index == nil { watched.readAll = true }
            if let index, let known = watched.watchers.last?.index, index <= known {
                state.watched[service] = watched
                return false
            }
            if watched.refreshing {
                watched.again = true
            } else {
                watched.refreshing = true
            }
            state.watched[service] = watched
            return !watched.again
        }
        guard start else { return }
        var again = true
        while again {
            let fetched = try? await read(service)
            let now = clock.now()
            again = state.withLock { state in
                // Taken out of the dictionary, so that changing it copies none of its buffers.
                guard var watched = state.watched.removeValue(forKey: service) else { return false }
                defer { state.watched[service] = watched }
                switch fetched {
                case .whole(let snapshot, let ttls)?:
                    Self.publish(snapshot, ttls: ttls, to: &watched, at: now)
                case .change(let change, let ttls)?:
                    Self.publish(change, ttls: ttls, to: &watched, cached: state.cache[service], at: now)
                case nil:
                    watched.readAll = true  // the notices taken were not read
                }
                let again = watched.again
                watched.again = false
                watched.refreshing = again
                state.watched[service] = watched
                return again
            }
        }
    }

    /// Tells the watchers of `change` if it is newer than what they know: the change itself,
    /// or the whole service as `cached` has it (with the change applied) when instances are
    /// being kept after a disruption or the watchers' snapshot is stale.
    private static func publish(
        _ change: ServiceChange, ttls: [String: Duration], to watched: inout Watched, cached: CachedService?,
        at now: MonotonicInstant
    ) {
        if let last = watched.watchers.last, !last.isStale, change.index <= last.index { return }
        if watched.continuity.record(change, ttls: ttls, at: now), watched.watchers.publish(change) { return }
        // Instances are being kept after a disruption, or the watchers' snapshot is stale:
        // work out the whole state.
        guard let cached else { return }
        publish(cached.snapshot(service: change.service, isStale: false), ttls: cached.ttls, to: &watched, at: now)
    }

    /// Tells the watchers of `snapshot`, with the instances kept after a disruption, if it is
    /// newer, its staleness changed, its index went back (Redis lost data), or a kept instance
    /// came or went: what changed, or the whole of it when the change cannot be trusted.
    private static func publish(
        _ snapshot: ServiceSnapshot, ttls: [String: Duration], to watched: inout Watched, at now: MonotonicInstant
    ) {
        let last = watched.watchers.last
        let regressed = !snapshot.isStale && last.map { snapshot.index < $0.index } ?? false
        if regressed { watched.continuity.disrupted(at: now) }
        let merged = watched.continuity.merge(snapshot, ttls: ttls, at: now)
        let newer = last.map { snapshot.index > $0.index } ?? true
        let staleChanged = last.map { snapshot.isStale != $0.isStale } ?? false
        let keptChanged =
            last?.index == snapshot.index
            && watched.watchers.current()?.instances.map(\.id) != merged.instances.map(\.id)
        guard newer || staleChanged || regressed || keptChanged else { return }
        // The index never goes back for watchers, except when Redis lost data.
        let index = regressed ? merged.index : max(merged.index, last?.index ?? 0)
        watched.watchers.publish(
            ServiceSnapshot(
                service: merged.service, index: index, instances: merged.instances, isStale: merged.isStale),
            resync: staleChanged || regressed || keptChanged)
    }

    /// What a read for the watchers found: the whole service, or what changed.
    private enum Read {
        case whole(ServiceSnapshot, ttls: [String: Duration])
        /// With the TTLs of the instances upserted.
        case change(ServiceChange, ttls: [String: Duration])
    }

    /// The service for its watchers: what the notices since the last read name, when they
    /// follow on from it; else the whole service.
    private func read(_ service: String) async throws -> Read {
        let plan = state.withLock { state in
            let notices = state.watched[service]?.notices ?? []
            let readAll = state.watched[service]?.readAll ?? true
            state.watched[service]?.notices = []
            state.watched[service]?.readAll = false
            guard !readAll, let index = Self.base(of: service, in: state) else {
                return RedisRegistryNotice.Plan.readAll
            }
            return RedisRegistryNotice.plan(notices, from: index, limit: ServiceEventMailbox.defaultLimit)
        }
        guard case .apply(let index, let carried, let toRead, let removed) = plan else {
            let whole = try await lookupWithTTLs(service)
            return .whole(whole.snapshot, ttls: whole.ttls)
        }
        var rows: (index: UInt64, instances: [ServiceInstance], ttls: [String: Duration]) = (index, [], [:])
        if !toRead.isEmpty {
            rows = try await fetch(service, ids: toRead)
            guard rows.index >= index else {  // Redis lost data
                let whole = try await lookupWithTTLs(service)
                return .whole(whole.snapshot, ttls: whole.ttls)
            }
        }
        let (change, ttls) = RedisRegistryNotice.change(
            service: service, index: index, carried: carried, read: rows.instances, ttls: rows.ttls,
            toRead: toRead, removed: removed)
        state.withLock { state in
            if let cached = state.cache[service]?.index, cached < index {
                state.cache[service]?.apply(change, ttls: ttls)
            }
        }
        return .change(change, ttls: ttls)
    }

    private func fetch(_ service: String) async throws -> (snapshot: ServiceSnapshot, ttls: [String: Duration]) {
        let read = try await fetch(service, ids: nil)
        let snapshot = ServiceSnapshot(
            service: service, index: read.index, instances: read.instances.sorted { $0.id < $1.id })
        return (snapshot, read.ttls)
    }

    /// Live instances of the service with their TTLs: all of them, or those of `ids`.
    private func fetch(
        _ service: String, ids: [String]?
    ) async throws -> (index: UInt64, instances: [ServiceInstance], ttls: [String: Duration]) {
        let reply =
            if let ids {
                try await evaluate(RedisRegistryScripts.lookupInstances, service: service, arguments: [service] + ids)
            } else {
                try await evaluate(RedisRegistryScripts.lookup, service: service, arguments: [service])
            }
        guard case .array(let parts) = reply, parts.count >= 2, case .integer(let index) = parts[0] else {
            throw Self.unexpected(reply, "looking up \(service)")
        }
        var ttls: [String: Duration] = [:]
        let instances = parts.dropFirst(2).compactMap { row -> ServiceInstance? in
            guard case .array(let fields) = row, fields.count == 5, let id = fields[0].string,
                let json = fields[1].string, let health = fields[2].string,
                case .integer(let registeredAt) = fields[3], case .integer(let expiry) = fields[4],
                let (instance, ttl) = RedisRegistryNotice.Row(
                    health: health, registeredAt: registeredAt, expiresAt: expiry, json: json
                ).instance(service: service, id: id)
            else { return nil }
            ttls[id] = ttl
            return instance
        }
        return (UInt64(max(index, 0)), instances, ttls)
    }

    private func summaries(_ services: [String]) async throws -> [ServiceSummary] {
        var summaries: [ServiceSummary] = []
        for service in services.sorted() {
            let snapshot = try await lookup(service)
            guard !snapshot.instances.isEmpty else { continue }
            let health = snapshot.instances.map(\.health)
            summaries.append(
                ServiceSummary(
                    service: service, index: snapshot.index, passing: health.count { $0 == .passing },
                    warning: health.count { $0 == .warning }, critical: health.count { $0 == .critical }))
        }
        return summaries
    }

    private func evaluate(_ script: RedisScript, service: String, arguments: [String]) async throws -> RESPValue {
        do {
            return try await pool.evaluate(script, keys: keys.service(service), arguments: arguments)
        } catch {
            throw DiscoveryError(.backendFailure, "the registry's Redis failed: \(error)")
        }
    }

    private func send(_ command: RESPCommand) async throws -> RESPValue {
        do {
            return try await pool.send(command)
        } catch {
            throw DiscoveryError(.backendFailure, "the registry's Redis failed: \(error)")
        }
    }

    private static func unexpected(_ reply: RESPValue, _ doing: String) -> DiscoveryError {
        DiscoveryError(.backendFailure, "unexpected reply from Redis while \(doing): \(reply)")
    }
}
