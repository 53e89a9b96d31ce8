import Foundation
import ShoalDiscovery

/// An instance as the API shows it. The `Encodable` conformance defines its JSON; `json`
/// (InstanceBody+JSON.swift) writes the same bytes by hand, as the registry's hot paths
/// need.
struct InstanceBody: Encodable {
    let instance: ServiceInstance

    private enum Key: String, CodingKey {
        case service, id, address, port, weight, zone, metadata, health
        case registeredAt = "registered_at"
        case renewedAt = "renewed_at"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(instance.service, forKey: .service)
        try container.encode(instance.id, forKey: .id)
        try container.encode(instance.address, forKey: .address)
        try container.encode(instance.port, forKey: .port)
        try container.encode(instance.weight, forKey: .weight)
        try container.encode(instance.zone, forKey: .zone)  // null when there is none
        try container.encode(instance.metadata, forKey: .metadata)
        try container.encode(instance.health.rawValue, forKey: .health)
        try container.encode(instance.registeredAt, forKey: .registeredAt)
        try container.encode(instance.renewedAt, forKey: .renewedAt)
    }
}

/// A service's snapshot as the API shows it: `{"service","index","stale","instances"}`, plus
/// `"kind": "snapshot"` in a blocking query's answer with `changes=true`. The `Encodable`
/// conformance defines its JSON; `json` (SnapshotBody+JSON.swift) writes it by hand.
struct SnapshotBody: Encodable {
    let snapshot: ServiceSnapshot
    /// Whether to say `"kind": "snapshot"`.
    var withKind = false

    private enum Key: String, CodingKey {
        case kind, service, index, stale, instances
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        if withKind { try container.encode("snapshot", forKey: .kind) }
        try container.encode(snapshot.service, forKey: .service)
        try container.encode(snapshot.index, forKey: .index)
        try container.encode(snapshot.isStale, forKey: .stale)
        try container.encode(snapshot.instances.map(InstanceBody.init), forKey: .instances)
    }
}
