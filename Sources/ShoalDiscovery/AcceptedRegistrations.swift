import ShoalCore

/// The registrations one `shoal serve` accepted and still sees renewed: what it puts back
/// when the store has lost them (anti-entropy, as a Consul agent does for its services).
///
/// A value: ``ReassertingRegistry`` tells it what the API did, with the time, and asks which
/// registrations are still live.
struct AcceptedRegistrations: Sendable {
    struct Entry: Sendable, Hashable {
        var instance: ServiceInstance
        var ttl: Duration
        /// When it was registered or last renewed through this process.
        var renewedAt: MonotonicInstant

        /// Whether its owner has renewed it within its time-to-live.
        func isLive(at now: MonotonicInstant) -> Bool { now < renewedAt + ttl }
    }

    private struct Key: Hashable, Sendable {
        let service: String
        let id: String
    }

    private var entries: [Key: Entry] = [:]

    mutating func accepted(_ instance: ServiceInstance, ttl: Duration, at now: MonotonicInstant) {
        entries[Key(service: instance.service, id: instance.id)] = Entry(instance: instance, ttl: ttl, renewedAt: now)
    }

    /// A renewal came: the entry, if it is known and was still live, which it stays.
    mutating func renewed(service: String, id: String, at now: MonotonicInstant) -> Entry? {
        let key = Key(service: service, id: id)
        guard var entry = entries[key], entry.isLive(at: now) else {
            entries[key] = nil
            return nil
        }
        entry.renewedAt = now
        entries[key] = entry
        return entry
    }

    mutating func removed(service: String, id: String) {
        entries[Key(service: service, id: id)] = nil
    }

    mutating func health(_ health: HealthStatus, service: String, id: String) {
        entries[Key(service: service, id: id)]?.instance.health = health
    }

    /// The live entries, by service; the others are forgotten.
    mutating func live(at now: MonotonicInstant) -> [String: [Entry]] {
        entries = entries.filter { $0.value.isLive(at: now) }
        return Dictionary(grouping: entries.values, by: \.instance.service)
    }

    /// The live entries of a service whose ids are not in `present`: to register again.
    static func missing(_ entries: [Entry], from present: Set<String>) -> [Entry] {
        entries.filter { !present.contains($0.instance.id) }.sorted { $0.instance.id < $1.instance.id }
    }
}
