import Foundation
import ServiceLifecycle
import ShoalCore
import ShoalDiscovery
import Synchronization

/// A registry kept in an etcd cluster: every `shoal serve` (or Swift process) that reaches the
/// cluster shares it, and a registration that was answered survives the loss of any minority
/// of members.
///
/// ```swift
/// let registry = EtcdRegistry(client: etcd)
/// // run `registry` (and `etcd`) in a ServiceGroup: subscriptions are served while it runs
/// for await snapshot in registry.subscribe("payments") { … }
/// ```
///
/// - Each instance is a key, `<prefix>services/<service>/<id>`, holding its registration as
///   JSON, on an etcd lease of its own with the registration's time-to-live (whole seconds,
///   rounded up; etcd raises a lease below its minimum, about 1.5 s with default timings). A
///   renewal is a keep-alive of that lease; when it lapses, etcd deletes the key itself, so no
///   sweeper is needed and an expiry reaches every watcher as a deletion.
/// - Registering an instance again with the same registration renews it and changes nothing;
///   with a different one, it writes the key on a fresh lease and revokes the old.
/// - Health verdicts are written into the instance's record, keeping its lease.
/// - ``lookup(_:)`` is a linearizable range read of the service's folder. A snapshot's index
///   is etcd's revision at the read (or the last change applied): it only grows, but it grows
///   with changes to other keys too, so a blocking query may return the same instances with
///   a higher index, as Consul's may.
/// - ``run()`` keeps one watch on every service's folder and updates each watched service
///   from its events; when etcd has compacted the history the watch needed, the watched
///   services are read again in full. Watchers are told what the events changed (``watch(_:)``),
///   and the recent changes are kept for ``changes(_:after:wait:clock:)``.
/// - While etcd cannot be reached, ``lookup(_:)`` serves the last snapshot it read, marked
///   ``ServiceSnapshot/isStale``.
///
/// ``ServiceInstance/renewedAt`` is when the record was last written (a registration or a
/// health change): keep-alives write nothing.
public final class EtcdRegistry: ServiceRegistry, ServiceDiscovery, Service {
    /// The client the registry's calls and its watch go through.
    public let client: EtcdClient
    /// Prepended to every key. Default `shoal/registry/`.
    public let keyPrefix: String
    /// Milliseconds since 1970, for the records' times.
    private let wallClock: @Sendable () -> Int64
    private let state = Mutex(State())
    /// Services to read in full for their watchers, served by ``run()``.
    private let loads: AsyncStream<String>
    private let loadRequests: AsyncStream<String>.Continuation

    /// How long a service stays followed after its last watcher left: 60 s by default, so a
    /// client's next blocking query finds the service and its recent changes still known,
    /// instead of costing a read of the whole service (as ``RedisRegistry`` does).
    public let watchLinger: Duration

    private struct Watched {
        var view: EtcdServiceView
        /// The watchers, what they were told, and the recent changes. (Posting never ends a
        /// stream, so it may run under the registry's lock.)
        var watchers = ServiceWatchers()
        /// Since when nobody watches; followed until ``watchLinger`` has passed.
        var idleSince: MonotonicInstant?
    }

    private struct State {
        var watched: [String: Watched] = [:]
        var nextWatcher = 0
        /// The last snapshot of each service read, for when etcd cannot be reached.
        var cache: [String: ServiceSnapshot] = [:]
    }

    /// A registry under `keyPrefix` in the cluster `client` reaches; `wallClock` gives the
    /// records' times.
    public init(
        client: EtcdClient, keyPrefix: String = "shoal/registry/",
        wallClock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) },
        watchLinger: Duration = .seconds(60)
    ) {
        self.client = client
        self.keyPrefix = keyPrefix
        self.wallClock = wallClock
        self.watchLinger = watchLinger
        (loads, loadRequests) = AsyncStream.makeStream()
    }

    var servicesFolder: String { keyPrefix + "services/" }
    func folder(_ service: String) -> String { servicesFolder + service + "/" }
    func key(_ service: String, _ id: String) -> String { folder(service) + id }

    // MARK: Writes

    public func register(_ instance: ServiceInstance, ttl: Duration) async throws -> ServiceInstance {
        guard Self.ttlRange.contains(ttl) else {
            throw DiscoveryError(.invalidArgument, field: "ttl", "must be between 1s and 1h, not \(ttl)")
        }
        return try await write(instance, ttl: ttl, shared: nil)
    }

    /// Writes `instance`'s key: on a lease of its own, granted here, or on the `shared` lease
    /// (an ``EtcdSharedLeaseRegistry``'s, which outlives any one instance). A lease of its own
    /// that an earlier registration of the instance left is revoked once the key is rewritten.
    ///
    /// - Throws: ``SharedLeaseGone`` when etcd no longer has the `shared` lease.
    func write(_ instance: ServiceInstance, ttl: Duration, shared: Int64?) async throws -> ServiceInstance {
        let key = Data(key(instance.service, instance.id).utf8)
        return try await backend("register \(instance.service)/\(instance.id)") {
            while true {
                let now = wallClock()
                let existing = try await client.get(String(decoding: key, as: UTF8.self))
                let previous = existing.flatMap { EtcdRegistryRecord.decode($0.value) }
                var record = EtcdRegistryRecord(
                    instance, ttl: ttl, registeredAt: previous?.registeredAt ?? now, writtenAt: now)
                if shared != nil { record.sharedLease = true }
                if let existing, let previous, previous.sameRegistration(as: record),
                    shared == nil || existing.lease == shared, try await client.keepAlive(lease: existing.lease) != nil
                {
                    return instance.stored(registeredAt: previous.registeredAt, renewedAt: now)
                }
                let lease: Int64
                if let shared { lease = shared } else { lease = try await client.grantLease(ttl: ttl.leaseSeconds).id }
                var request = Etcdserverpb_TxnRequest()
                request.compare = [
                    existing.map { EtcdRequests.modRevision(of: key, is: $0.modRevision) }
                        ?? EtcdRequests.createRevision(of: key, is: 0)
                ]
                request.success = [EtcdRequests.put(key, record.json(), lease: lease)]
                // Repeating it after a lost answer finds the key changed, and starts over.
                let written: Bool
                do {
                    written = try await client.txn(request, idempotent: true).succeeded
                } catch let error as EtcdError where error.code == .leaseNotFound && shared != nil {
                    throw SharedLeaseGone()
                }
                guard written else {
                    if shared == nil { _ = try? await client.revokeLease(lease) }
                    continue  // another write came between: read again
                }
                // Another's shared lease holds other instances: only a lease of the instance's own goes.
                if let existing, existing.lease != 0, existing.lease != lease, previous?.ownsLease ?? true {
                    _ = try? await client.revokeLease(existing.lease)
                }
                return instance.stored(registeredAt: record.registeredAt, renewedAt: now)
            }
        }
    }

    public func renew(service: String, id: String) async throws -> Bool {
        try await backend("renew \(service)/\(id)") {
            guard let existing = try await client.get(key(service, id)), existing.lease != 0 else { return false }
            return try await client.keepAlive(lease: existing.lease) != nil
        }
    }

    public func deregister(service: String, id: String) async throws -> Bool {
        try await backend("deregister \(service)/\(id)") {
            guard let existing = try await client.get(key(service, id)) else { return false }
            // Revoking the instance's own lease deletes its key, with one change event; a key on
            // a shared lease is deleted, and the lease stays for the others.
            let ownsLease = EtcdRegistryRecord.decode(existing.value)?.ownsLease ?? true
            if existing.lease != 0, ownsLease { return try await client.revokeLease(existing.lease) }
            return try await client.delete(key(service, id)) == 1
        }
    }

    public func setHealth(_ health: HealthStatus, service: String, id: String) async throws -> Bool {
        let key = Data(key(service, id).utf8)
        return try await backend("set the health of \(service)/\(id)") {
            while true {
                guard let existing = try await client.get(String(decoding: key, as: UTF8.self)),
                    var record = EtcdRegistryRecord.decode(existing.value)
                else { return false }
                guard record.health != health.rawValue else { return true }
                record.health = health.rawValue
                record.writtenAt = wallClock()
                var request = Etcdserverpb_TxnRequest()
                request.compare = [EtcdRequests.modRevision(of: key, is: existing.modRevision)]
                var put = EtcdRequests.put(key, record.json())
                put.requestPut.ignoreLease = true
                request.success = [put]
                if try await client.txn(request, idempotent: true).succeeded { return true }
            }
        }
    }

    // MARK: Reads

    public func lookup(_ service: String) async throws -> ServiceSnapshot {
        do {
            let (keyValues, revision) = try await client.list(prefix: folder(service))
            var view = EtcdServiceView(service: service, folder: folder(service))
            _ = view.load(keyValues, at: revision)
            let snapshot = view.snapshot
            state.withLock { $0.cache[service] = snapshot }
            return snapshot
        } catch let error as EtcdError where error.code == .unavailable {
            guard let cached = state.withLock({ $0.cache[service] }) else {
                throw DiscoveryError(.backendFailure, "cannot look up \(service): \(error)")
            }
            return ServiceSnapshot(service: service, index: cached.index, instances: cached.instances, isStale: true)
        } catch let error as EtcdError {
            throw DiscoveryError(.backendFailure, "cannot look up \(service): \(error)")
        }
    }

    public func services() async throws -> [ServiceSummary] {
        try await backend("list services") {
            let (keyValues, revision) = try await client.list(prefix: servicesFolder)
            var counts: [String: (passing: Int, warning: Int, critical: Int)] = [:]
            for keyValue in keyValues {
                let path = keyValue.keyString.dropFirst(servicesFolder.count)
                guard let slash = path.firstIndex(of: "/"), let record = EtcdRegistryRecord.decode(keyValue.value)
                else { continue }
                let service = String(path[..<slash])
                var count = counts[service] ?? (0, 0, 0)
                switch HealthStatus(rawValue: record.health) ?? .passing {
                case .passing: count.passing += 1
                case .warning: count.warning += 1
                case .critical: count.critical += 1
                }
                counts[service] = count
            }
            return counts.keys.sorted().map { service in
                let count = counts[service]!
                return ServiceSummary(
                    service: service, index: UInt64(revision), passing: count.passing, warning: count.warning,
                    critical: count.critical)
            }
        }
    }

    /// Snapshots built by applying each change to the one before.
    public func subscribe(_ service: String) -> AsyncStream<ServiceSnapshot> {
        .applying(watch(service))
    }

    /// The service as events: read in full for its first watcher, then the watch's changes.
    public func watch(_ service: String) -> AsyncStream<ServiceEvent> {
        watch(service, knowing: nil)
    }

    /// What changed since `index` (a revision), from the changes kept while the service is
    /// watched; a blocking query otherwise.
    public func changes(
        _ service: String, after index: UInt64, wait: Duration, clock: any MonotonicClock
    ) async throws -> ServiceEvent {
        try await changes(service, after: index, wait: wait, clock: clock) {
            state.withLock { $0.watched[service]?.watchers.changes(after: index, service: service) }
        } watch: { index in
            watch(service, knowing: index)
        }
    }

    /// A watch that is not told the service when it is as it was at `index`.
    private func watch(_ service: String, knowing index: UInt64?) -> AsyncStream<ServiceEvent> {
        let id = state.withLock { state in
            state.nextWatcher += 1
            return state.nextWatcher
        }
        let clock = client.clock
        let (mailbox, events) = ServiceEventMailbox.make { [weak self] in
            let now = clock.now()
            self?.state.withLock { state in
                state.watched[service]?.watchers.remove(id: id)
                if state.watched[service]?.watchers.isEmpty == true { state.watched[service]?.idleSince = now }
            }
        }
        let loaded = state.withLock { state in
            if state.watched[service] == nil {
                state.watched[service] = Watched(view: EtcdServiceView(service: service, folder: folder(service)))
            }
            state.watched[service]?.idleSince = nil
            // Under the lock, so that no later change reaches the watcher before the state.
            state.watched[service]?.watchers.add(mailbox, id: id, knowing: index)
            return state.watched[service]?.view.isLoaded ?? false
        }
        if !loaded { loadRequests.yield(service) }  // served by run()
        return events
    }

    /// The number of watchers of `service`, for audits.
    public func watcherCount(_ service: String) -> Int {
        state.withLock { $0.watched[service]?.watchers.count ?? 0 }
    }

    // MARK: Background

    /// Watches every service's folder and reads services in full for new watchers, until
    /// graceful shutdown or cancellation; then finishes every subscription. The client must
    /// run too (it is a service of its own, which the lock service may share).
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            // Reads for watchers start once the watch's first revision is known: a read is
            // then at that revision or later, so no change falls between the two.
            guard let from = await self.currentRevision() else { return }
            await withDiscardingTaskGroup { group in
                group.addTask { await self.watchServices(from: from + 1) }
                group.addTask { await self.forgetIdle() }
                group.addTask {
                    await withDiscardingTaskGroup { loading in
                        for await service in self.loads {
                            loading.addTask { await self.load(service) }
                        }
                    }
                }
            }
        }
        close()
    }

    /// Finishes every subscription.
    public func close() {
        let watchers = state.withLock { state in
            defer { state.watched = [:] }
            return state.watched.values.flatMap(\.watchers.all)
        }
        loadRequests.finish()
        for mailbox in watchers { mailbox.finish() }  // outside the lock: onTermination takes it
    }

    /// Reads `service` in full for its watchers, trying again while etcd cannot be reached.
    private func load(_ service: String) async {
        // Given up once no watcher is left.
        let read = await persistently { () async throws -> ([EtcdKeyValue], Int64)? in
            guard state.withLock({ $0.watched[service] != nil }) else { return nil }
            return try await client.list(prefix: folder(service))
        }
        guard let (keyValues, revision) = read ?? nil else { return }
        state.withLock { state in
            // Taken out of the dictionary, so that changing it copies none of its buffers.
            guard var watched = state.watched.removeValue(forKey: service) else { return }
            defer { state.watched[service] = watched }
            // Under the lock, so that what the watchers are told reaches each in index order.
            if watched.view.load(keyValues, at: revision) {
                watched.watchers.publish(watched.view.snapshot, resync: false)
            }
        }
    }

    /// Runs `body` until it succeeds, pausing after each failure (longer each time, up to
    /// 1 s) while etcd cannot be reached; `nil` once cancelled.
    private func persistently<T: Sendable>(_ body: () async throws -> T) async -> T? {
        var failures = 0
        while !Task.isCancelled {
            do {
                return try await body()
            } catch {
                failures += 1
                try? await client.clock.sleep(until: client.clock.now() + .milliseconds(min(100 * failures, 1000)))
            }
        }
        return nil
    }

    /// Stops following the services nobody has watched for ``watchLinger``, checking a few
    /// times a linger, until cancelled.
    private func forgetIdle() async {
        let clock = client.clock
        while !Task.isCancelled {
            try? await clock.sleep(until: clock.now() + min(watchLinger / 4, .seconds(5)))
            let now = clock.now()
            state.withLock { state in
                state.watched = state.watched.filter { $0.value.idleSince.map { now - $0 < watchLinger } ?? true }
            }
        }
    }

    /// Whether the registry follows `service` (watched, or lately).
    func isFollowed(_ service: String) -> Bool {
        state.withLock { $0.watched[service] != nil }
    }

    /// etcd's revision now, trying again while etcd cannot be reached; `nil` once cancelled.
    private func currentRevision() async -> Int64? {
        var request = EtcdRequests.range(under: Data(servicesFolder.utf8))
        request.countOnly = true
        return await persistently { [request] in try await client.range(request).header.revision }
    }

    /// One watch on every service's folder, from `revision`; after a compaction, it starts
    /// again from the revision then, and every watched service is read again in full.
    private func watchServices(from revision: Int64) async {
        var from = revision
        while !Task.isCancelled {
            do {
                try await client.watch(prefix: servicesFolder, from: from) { events, revision in
                    self.apply(events, through: revision)
                    return .continue
                }
                return
            } catch let error as EtcdError where error.code == .compacted {
                guard let now = await currentRevision() else { return }
                from = now + 1
                let services = state.withLock { state in
                    // The history between is gone: each view starts over from a full read.
                    for name in state.watched.keys {
                        state.watched[name]?.view = EtcdServiceView(service: name, folder: folder(name))
                    }
                    return Array(state.watched.keys)
                }
                for service in services { loadRequests.yield(service) }
            } catch {
                try? await client.clock.sleep(until: client.clock.now() + .milliseconds(200))
            }
        }
    }

    /// Applies a batch of the watch's events to the services they touch.
    private func apply(_ events: [EtcdEvent], through revision: Int64) {
        var byService: [String: [EtcdEvent]] = [:]
        for event in events {
            let path = event.keyValue.keyString.dropFirst(servicesFolder.count)
            guard let slash = path.firstIndex(of: "/") else { continue }
            byService[String(path[..<slash]), default: []].append(event)
        }
        state.withLock { state in
            for (service, events) in byService {
                // Taken out of the dictionary, so that changing it copies none of its buffers.
                guard var watched = state.watched.removeValue(forKey: service) else { continue }
                if let change = watched.view.apply(events, through: revision),
                    !watched.watchers.publish(change)
                {
                    watched.watchers.publish(watched.view.snapshot, resync: false)
                }
                state.watched[service] = watched
            }
        }
    }

    /// Runs `body`, reporting etcd's failures as the registry's.
    private func backend<T>(_ what: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as EtcdError {
            throw DiscoveryError(.backendFailure, "cannot \(what): \(error)")
        }
    }
}

/// etcd no longer has the lease an ``EtcdSharedLeaseRegistry`` wrote on: it grants another.
struct SharedLeaseGone: Error {}
