/// What changed in a service between two indexes: the instances registered or changed, and
/// the ids that went away. Applying it to the snapshot at the earlier index gives the snapshot
/// at ``index`` (``ServiceSnapshot/applying(_:)``).
///
/// Renewals are not changes, so an instance's ``ServiceInstance/renewedAt`` in a snapshot kept
/// up to date by changes is the one of its last change.
public struct ServiceChange: Sendable, Hashable {
    public let service: String
    /// The service's index after the change.
    public let index: UInt64
    /// Instances added or changed, as they are now, sorted by id.
    public let upserted: [ServiceInstance]
    /// Ids of instances removed, sorted.
    public let removed: [String]

    public init(service: String, index: UInt64, upserted: [ServiceInstance], removed: [String]) {
        self.service = service
        self.index = index
        self.upserted = upserted.sorted { $0.id < $1.id }
        self.removed = removed.sorted()
    }

    /// Whether nothing changed.
    public var isEmpty: Bool { upserted.isEmpty && removed.isEmpty }

    /// The number of instances it names.
    public var count: Int { upserted.count + removed.count }

    /// One change that does what `self` then `later` do: an instance upserted then removed is
    /// removed, one removed then upserted is upserted, and the later of two upserts wins.
    public func followed(by later: ServiceChange) -> ServiceChange {
        var merged = Accumulator(self)
        merged.add(later)
        return merged.change
    }

    /// Changes merged as they come, each in what it names: where ``followed(by:)`` would copy
    /// everything merged so far for every change added.
    struct Accumulator: Sendable {
        let service: String
        private(set) var index: UInt64
        private var upserts: [String: ServiceInstance] = [:]
        private var removals: Set<String> = []

        init(_ first: ServiceChange) {
            service = first.service
            index = first.index
            add(first)
        }

        /// The number of instances named.
        var count: Int { upserts.count + removals.count }

        mutating func add(_ later: ServiceChange) {
            for id in later.removed {
                upserts[id] = nil
                removals.insert(id)
            }
            for instance in later.upserted {
                removals.remove(instance.id)
                upserts[instance.id] = instance
            }
            index = max(index, later.index)
        }

        var change: ServiceChange {
            ServiceChange(service: service, index: index, upserted: Array(upserts.values), removed: Array(removals))
        }
    }
}

/// What a watcher of a service is told: the whole service, or what changed since the last
/// event.
public enum ServiceEvent: Sendable, Hashable {
    /// The whole service: the first event of a watch, and again whenever the watcher fell too
    /// far behind for a change to catch it up.
    case snapshot(ServiceSnapshot)
    /// What changed since the previous event.
    case change(ServiceChange)

    /// The service's index after the event.
    public var index: UInt64 {
        switch self {
        case .snapshot(let snapshot): snapshot.index
        case .change(let change): change.index
        }
    }
}
