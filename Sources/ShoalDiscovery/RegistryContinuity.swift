import ShoalCore

/// What a watcher of one service keeps seeing when the registry's store loses data: a Redis
/// restarted empty, or from an older snapshot, or a replica promoted before it had the last
/// registrations.
///
/// After such a disruption, instances vanish from the store although nobody deregistered
/// them; they come back as they renew (or their `shoal serve` re-asserts them). Until then,
/// a gateway that followed the store would have nowhere to send requests. So for one
/// time-to-live after a disruption, each instance the watcher knew that is missing from
/// the store is kept in what the watcher sees; it goes when its time-to-live has passed
/// without its coming back, as it would have expired. Outside a disruption, a missing
/// instance goes at once (it was deregistered, or expired).
///
/// A value: ``RedisRegistry`` feeds it snapshots and disruptions with the time, and
/// publishes what ``merge(_:ttls:at:)`` returns.
struct RegistryContinuity: Sendable {
    private struct Known: Sendable {
        var instance: ServiceInstance
        var ttl: Duration
        /// Set while the instance is missing from the store after a disruption: until when
        /// it is kept.
        var keptUntil: MonotonicInstant?
    }

    private var known: [String: Known] = [:]
    /// The last disruption: an instance that goes missing within its time-to-live of it is
    /// kept until that time-to-live has passed.
    private var disruptedAt: MonotonicInstant?

    /// The store may have lost data: instances that go missing from now on are kept for
    /// their time-to-live, counted from `now`.
    mutating func disrupted(at now: MonotonicInstant) {
        disruptedAt = now
    }

    /// `snapshot`, with the instances kept after a disruption added. `ttls` gives each
    /// instance's time-to-live in the store, by id; an instance without one keeps the one it
    /// had, or 30 s.
    mutating func merge(
        _ snapshot: ServiceSnapshot, ttls: [String: Duration], at now: MonotonicInstant
    ) -> ServiceSnapshot {
        var present = Set<String>()
        for instance in snapshot.instances {
            present.insert(instance.id)
            let ttl = ttls[instance.id] ?? known[instance.id]?.ttl ?? .seconds(30)
            known[instance.id] = Known(instance: instance, ttl: ttl, keptUntil: nil)
        }
        var kept: [ServiceInstance] = []
        for (id, var entry) in known where !present.contains(id) {
            if entry.keptUntil == nil, let disruptedAt { entry.keptUntil = disruptedAt + entry.ttl }
            guard let until = entry.keptUntil, now < until else {
                known[id] = nil
                continue
            }
            known[id] = entry
            kept.append(entry.instance)
        }
        guard !kept.isEmpty else { return snapshot }
        return ServiceSnapshot(
            service: snapshot.service, index: snapshot.index,
            instances: (snapshot.instances + kept).sorted { $0.id < $1.id },
            isStale: snapshot.isStale)
    }

    /// Records a change to the store's state, in what it names only, when nothing is being
    /// kept and no disruption is recent enough for a missing instance to be kept: then what
    /// the watcher sees is the store's state, and the change is the change. `false` (nothing
    /// recorded) otherwise: ``merge(_:ttls:at:)`` the whole state then.
    mutating func record(_ change: ServiceChange, ttls: [String: Duration], at now: MonotonicInstant) -> Bool {
        if let disruptedAt {
            // Within a TTL of a disruption, a missing instance would be kept.
            guard known.values.allSatisfy({ now >= disruptedAt + $0.ttl }) else { return false }
            self.disruptedAt = nil
        }
        for id in change.removed { known[id] = nil }
        for instance in change.upserted {
            let ttl = ttls[instance.id] ?? known[instance.id]?.ttl ?? .seconds(30)
            known[instance.id] = Known(instance: instance, ttl: ttl, keptUntil: nil)
        }
        return true
    }

    /// When the next kept instance is due to go, so the watcher can be told then.
    var nextRelease: MonotonicInstant? {
        known.values.compactMap(\.keptUntil).min()
    }
}
