import ShoalCore

/// The endpoints a balancer sends a service's requests to: its instances not failing health
/// checks, in id order, each address once. Kept up to date by changes, so a change makes the
/// endpoints of the instances it names and no others.
struct ServiceEndpoints {
    /// The eligible instances' ids, sorted.
    private var ids: [String] = []
    /// Their endpoints, in the same order.
    private var ordered: [Endpoint] = []
    /// How many eligible instances have each address: more than one are sent to once.
    private var addressCounts: [String: Int] = [:]
    private var sharedAddresses = 0

    /// The endpoints of `snapshot`'s eligible instances.
    init(_ snapshot: ServiceSnapshot) {
        for instance in snapshot.instances { upsert(instance) }
    }

    /// Applies a change: the instances it upserts replace theirs (and leave if they fail
    /// health checks), and those it removes go.
    mutating func apply(_ change: ServiceChange) {
        for id in change.removed { remove(id) }
        for instance in change.upserted { upsert(instance) }
    }

    /// In id order, each address once (the first instance's with it).
    var endpoints: [Endpoint] {
        guard sharedAddresses > 0 else { return ordered }
        var seen = Set<String>()
        return ordered.filter { seen.insert($0.address).inserted }
    }

    private mutating func upsert(_ instance: ServiceInstance) {
        remove(instance.id)
        guard instance.health != .critical, let endpoint = try? instance.endpoint() else { return }
        let position = insertionPoint(of: instance.id)
        ids.insert(instance.id, at: position)
        ordered.insert(endpoint, at: position)
        addressCounts[endpoint.address, default: 0] += 1
        if addressCounts[endpoint.address] == 2 { sharedAddresses += 1 }
    }

    private mutating func remove(_ id: String) {
        let position = insertionPoint(of: id)
        guard position < ids.count, ids[position] == id else { return }
        ids.remove(at: position)
        let endpoint = ordered.remove(at: position)
        addressCounts[endpoint.address, default: 1] -= 1
        if addressCounts[endpoint.address] == 1 { sharedAddresses -= 1 }
        if addressCounts[endpoint.address] == 0 { addressCounts[endpoint.address] = nil }
    }

    /// The position of the first id not below `id`, by binary search.
    private func insertionPoint(of id: String) -> Int {
        var low = 0
        var high = ids.count
        while low < high {
            let middle = (low + high) / 2
            if ids[middle] < id { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
