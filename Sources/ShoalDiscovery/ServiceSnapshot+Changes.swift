extension ServiceSnapshot {
    /// The snapshot after `change`: in O(instances + change), keeping the order by id.
    public func applying(_ change: ServiceChange) -> ServiceSnapshot {
        var gone = Set(change.removed)
        for instance in change.upserted { gone.insert(instance.id) }
        var merged: [ServiceInstance] = []
        merged.reserveCapacity(instances.count + change.upserted.count)
        var upserts = change.upserted[...]
        for instance in instances where !gone.contains(instance.id) {
            while let next = upserts.first, next.id < instance.id {
                merged.append(next)
                upserts = upserts.dropFirst()
            }
            merged.append(instance)
        }
        merged.append(contentsOf: upserts)
        return ServiceSnapshot(service: service, index: max(index, change.index), instances: merged)
    }

    /// What changed from this snapshot to `newer`, ignoring the registry's times: a renewal
    /// alone is no change.
    public func changes(to newer: ServiceSnapshot) -> ServiceChange {
        var upserted: [ServiceInstance] = []
        var removed: [String] = []
        var old = instances[...]
        var new = newer.instances[...]
        while let before = old.first, let after = new.first {
            if before.id == after.id {
                if !before.sameRegistration(as: after) { upserted.append(after) }
                old = old.dropFirst()
                new = new.dropFirst()
            } else if before.id < after.id {
                removed.append(before.id)
                old = old.dropFirst()
            } else {
                upserted.append(after)
                new = new.dropFirst()
            }
        }
        removed.append(contentsOf: old.map(\.id))
        upserted.append(contentsOf: new)
        return ServiceChange(service: service, index: newer.index, upserted: upserted, removed: removed)
    }
}
