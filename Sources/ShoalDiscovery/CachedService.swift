/// The last state of a service that a registry read from its store, by id, so that a change
/// updates it in what the change names: for answers while the store is away, and as the base
/// that reads of what notices name build on.
struct CachedService: Sendable {
    private(set) var index: UInt64
    private var instances: [String: ServiceInstance]
    /// Each instance's time-to-live in the store, by id.
    private(set) var ttls: [String: Duration]

    init(_ snapshot: ServiceSnapshot, ttls: [String: Duration]) {
        index = snapshot.index
        instances = Dictionary(snapshot.instances.map { ($0.id, $0) }, uniquingKeysWith: { _, last in last })
        self.ttls = ttls
    }

    /// Applies `change`; `ttls` are those of the instances it upserts.
    mutating func apply(_ change: ServiceChange, ttls: [String: Duration]) {
        for id in change.removed {
            instances[id] = nil
            self.ttls[id] = nil
        }
        for instance in change.upserted { instances[instance.id] = instance }
        self.ttls.merge(ttls) { $1 }
        index = max(index, change.index)
    }

    /// The state as a snapshot, sorted by id.
    func snapshot(service: String, isStale: Bool) -> ServiceSnapshot {
        ServiceSnapshot(
            service: service, index: index, instances: instances.values.sorted { $0.id < $1.id }, isStale: isStale)
    }
}
