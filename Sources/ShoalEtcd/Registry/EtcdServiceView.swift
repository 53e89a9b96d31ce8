import ShoalDiscovery

/// One watched service as the etcd registry knows it: loaded from a range read, then kept
/// up to date with the watch's events. A value, so the ordering rules are tested without
/// etcd.
///
/// A range read and the one watch of every service race: the watch may deliver events the
/// read already holds (they are skipped by revision) or events that came after it before
/// the read's answer arrived (they are held, and applied once it has).
struct EtcdServiceView: Sendable {
    let service: String
    /// The key of each instance under ``service``'s folder starts with this.
    let folder: String
    private(set) var instances: [String: ServiceInstance] = [:]
    /// The revision everything up to which has been applied; 0 before the first read.
    private(set) var revision: Int64 = 0
    private var held: [EtcdEvent] = []

    init(service: String, folder: String) {
        self.service = service
        self.folder = folder
    }

    var isLoaded: Bool { revision > 0 }

    /// The snapshot the watchers get now.
    var snapshot: ServiceSnapshot {
        ServiceSnapshot(
            service: service, index: UInt64(max(revision, 0)),
            instances: instances.values.sorted { $0.id < $1.id })
    }

    /// Takes a range read of the folder made at `revision`; returns whether it (and the events
    /// held for it) changed what the watchers saw. An older read than what is applied is ignored.
    mutating func load(_ keyValues: [EtcdKeyValue], at revision: Int64) -> Bool {
        guard revision > self.revision else { return false }
        let before = instances
        let wasLoaded = isLoaded
        instances = [:]
        for keyValue in keyValues {
            guard let (id, instance) = decode(keyValue) else { continue }
            instances[id] = instance
        }
        self.revision = revision
        let events = held
        held = []
        let through = max(revision, events.map(\.keyValue.modRevision).max() ?? revision)
        _ = apply(events, through: through)
        return !wasLoaded || instances != before
    }

    /// Applies a batch of the watch's events for this service, which end at `revision`;
    /// returns what changed for the watchers, `nil` when nothing did. Before the first read,
    /// the events are held.
    mutating func apply(_ events: [EtcdEvent], through revision: Int64) -> ServiceChange? {
        guard isLoaded else {
            held += events
            return nil
        }
        var upserted: [String: ServiceInstance] = [:]
        var removed = Set<String>()
        for event in events where event.keyValue.modRevision > self.revision {
            let id = String(event.keyValue.keyString.dropFirst(folder.count))
            switch event.kind {
            case .put:
                guard let (id, instance) = decode(event.keyValue) else {
                    // No longer a registration: gone, as a read would leave it out.
                    if instances.removeValue(forKey: id) != nil {
                        upserted[id] = nil
                        removed.insert(id)
                    }
                    continue
                }
                if instances[id] != instance {
                    instances[id] = instance
                    upserted[id] = instance
                    removed.remove(id)
                }
            case .delete:
                if instances.removeValue(forKey: id) != nil {
                    upserted[id] = nil
                    removed.insert(id)
                }
            }
        }
        if revision > self.revision { self.revision = revision }
        guard !upserted.isEmpty || !removed.isEmpty else { return nil }
        return ServiceChange(
            service: service, index: UInt64(max(self.revision, 0)), upserted: Array(upserted.values),
            removed: Array(removed))
    }

    private func decode(_ keyValue: EtcdKeyValue) -> (String, ServiceInstance)? {
        let key = keyValue.keyString
        guard key.hasPrefix(folder) else { return nil }
        let id = String(key.dropFirst(folder.count))
        guard !id.contains("/"), let record = EtcdRegistryRecord.decode(keyValue.value),
            let instance = record.instance(service: service, id: id)
        else { return nil }
        return (id, instance)
    }
}
