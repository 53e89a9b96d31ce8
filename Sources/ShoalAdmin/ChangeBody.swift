import ShoalDiscovery

/// A change as the API shows it: `{"service","index","upserted","removed"}`, plus `"kind":
/// "changes"` in a blocking query's answer.
struct ChangeBody: Encodable {
    let change: ServiceChange
    /// Whether to say `"kind": "changes"`, as a blocking query with `changes=true` does.
    var withKind = false

    private enum Key: String, CodingKey {
        case kind, service, index, upserted, removed
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        if withKind { try container.encode("changes", forKey: .kind) }
        try container.encode(change.service, forKey: .service)
        try container.encode(change.index, forKey: .index)
        try container.encode(change.upserted.map(InstanceBody.init), forKey: .upserted)
        try container.encode(change.removed, forKey: .removed)
    }
}

/// A blocking query's answer with `changes=true`: the changes, or the whole service marked
/// `"kind": "snapshot"` when the server no longer knows what changed since the index.
struct EventBody: Encodable {
    let event: ServiceEvent

    func encode(to encoder: any Encoder) throws {
        switch event {
        case .change(let change):
            try ChangeBody(change: change, withKind: true).encode(to: encoder)
        case .snapshot(let snapshot):
            try SnapshotBody(snapshot: snapshot, withKind: true).encode(to: encoder)
        }
    }
}
