/// A service's recent changes, so that a watcher that knows index N can be sent what changed
/// since instead of the whole service (`?changes=true` on a blocking query).
///
/// It keeps at most ``capacity`` changes naming at most ``instanceCapacity`` instances in all,
/// dropping the oldest first. Every change after ``floor`` is held.
struct ServiceChangeLog: Sendable {
    /// Most changes kept: 1,024.
    let capacity: Int
    /// Most instances named by the changes kept: 4,096.
    let instanceCapacity: Int
    /// Changes after this index are all held.
    private(set) var floor: UInt64
    /// The changes kept, oldest first (from `head` on).
    private var changes: [ServiceChange] = []
    private var head = 0
    private var instances = 0

    init(floor: UInt64 = 0, capacity: Int = 1024, instanceCapacity: Int = 4096) {
        self.floor = floor
        self.capacity = capacity
        self.instanceCapacity = instanceCapacity
    }

    /// The number of changes held.
    var count: Int { changes.count - head }

    /// Records `change`, the service's newest.
    mutating func append(_ change: ServiceChange) {
        changes.append(change)
        instances += change.count
        while count > capacity || (instances > instanceCapacity && count > 0) {
            let oldest = changes[head]
            floor = oldest.index
            instances -= oldest.count
            head += 1
        }
        if head > capacity {  // drop what was trimmed, now and then
            changes.removeFirst(head)
            head = 0
        }
    }

    /// Everything that changed after `index`, merged, or `nil` when the log no longer holds
    /// all of it. An index at or past the newest change gets an empty change.
    func changes(after index: UInt64, service: String) -> ServiceChange? {
        guard index >= floor else { return nil }
        var merged = ServiceChange.Accumulator(ServiceChange(service: service, index: index, upserted: [], removed: []))
        for change in changes[head...] where change.index > index {
            merged.add(change)
        }
        return merged.change
    }
}
