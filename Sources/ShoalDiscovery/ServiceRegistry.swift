import ShoalCore

/// Where instances are registered: in-process (``EmbeddedRegistry``) or shared.
public protocol ServiceRegistry: Sendable {
    /// Stores `instance` until `ttl` passes without a renewal, and returns it as stored
    /// (with the registry's times). Registering an id again replaces it; that is a change
    /// only if something differs.
    ///
    /// - Throws: ``DiscoveryError`` with ``DiscoveryError/Code-swift.struct/invalidArgument``
    ///   for a TTL outside 1 s ... 1 h.
    func register(_ instance: ServiceInstance, ttl: Duration) async throws -> ServiceInstance

    /// Extends the instance's registration by its TTL; `false` if it is unknown (expired or
    /// never registered), so its owner registers it again.
    func renew(service: String, id: String) async throws -> Bool

    /// Removes the instance; `false` if it was unknown.
    func deregister(service: String, id: String) async throws -> Bool

    /// Sets the instance's health (a change if it differs); `false` if it is unknown.
    func setHealth(_ health: HealthStatus, service: String, id: String) async throws -> Bool
}

/// Where instances are found, in the shape of apple/swift-service-discovery: a lookup and
/// a subscription.
public protocol ServiceDiscovery: Sendable {
    /// The service's instances now.
    func lookup(_ service: String) async throws -> ServiceSnapshot

    /// Every service that has instances, with counts by health.
    func services() async throws -> [ServiceSummary]

    /// The service's snapshots: the current one at once, then one per change. A watcher
    /// that falls behind gets the newest snapshot, not every one in between; indexes only
    /// ever increase.
    func subscribe(_ service: String) -> AsyncStream<ServiceSnapshot>

    /// The service as events: the whole service at once (``ServiceEvent/snapshot(_:)``), then
    /// what changed (``ServiceEvent/change(_:)``), several changes merged into one when the
    /// watcher falls behind, and a snapshot again when it falls too far behind or the
    /// backend's view was disrupted. Indexes only ever increase, except after a snapshot that
    /// says the backend lost data.
    ///
    /// The default derives changes by comparing ``subscribe(_:)``'s snapshots; Shoal's
    /// registries (embedded, Redis, etcd) and `shoal serve`'s HTTP client send the changes
    /// they learn, without building or comparing snapshots.
    func watch(_ service: String) -> AsyncStream<ServiceEvent>

    /// A blocking query for changes: as soon as the service's index passes `index`, or when
    /// `wait` ends on `clock`, what changed since `index` — or the whole service when that is
    /// no longer known (the default knows it only while it watches).
    func changes(
        _ service: String, after index: UInt64, wait: Duration, clock: any MonotonicClock
    ) async throws -> ServiceEvent
}

/// A store that can say whether it holds some instances of a service without reading the
/// service whole: ``ReassertingRegistry`` asks it about the registrations it accepted.
public protocol InstanceIDListing: Sendable {
    /// Those of `ids` that are not live instances of `service`.
    func absentIDs(_ service: String, among ids: [String]) async throws -> Set<String>
}

extension ServiceRegistry {
    /// The accepted range of registration TTLs.
    public static var ttlRange: ClosedRange<Duration> { .seconds(1) ... .seconds(3600) }

    static func checkTTL(_ ttl: Duration) throws(DiscoveryError) {
        guard ttlRange.contains(ttl) else {
            throw DiscoveryError(.invalidArgument, field: "ttl", "must be between 1s and 1h, not \(ttl)")
        }
    }
}

extension ServiceDiscovery {
    /// A blocking query, as Consul's: returns as soon as the service's index passes `index`,
    /// or when `wait` ends on `clock`, with the snapshot as it is then.
    public func lookup(
        _ service: String, after index: UInt64, wait: Duration, clock: any MonotonicClock = SystemClock()
    ) async throws -> ServiceSnapshot {
        let newer = try await Self.first(of: subscribe(service), within: wait, clock: clock) { $0.index > index }
        if let newer { return newer }
        return try await lookup(service)
    }
}
