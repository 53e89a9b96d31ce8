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
        /// The last round of checks against the store that took it (see ``nextChecks(at:limit:)``).
        var checkedInRound: UInt64 = 0

        /// Whether its owner has renewed it within its time-to-live.
        func isLive(at now: MonotonicInstant) -> Bool { now < renewedAt + ttl }
    }

    private struct Key: Hashable, Sendable {
        let service: String
        let id: String
    }

    private var entries: [Key: Entry] = [:]
    /// The round of checks under way: every live entry is checked once in each.
    private var round: UInt64 = 1

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

    /// Up to `limit` live entries to compare with the store now, by service: each live entry
    /// once a round, a round taking as many calls as it needs. The lapsed are forgotten.
    ///
    /// Comparing every entry at each check made a `shoal serve` with 10,000 registrations
    /// have Redis list 10,000 ids every second, which held up every other command (and
    /// every watcher's notice) for tens of milliseconds.
    mutating func nextChecks(at now: MonotonicInstant, limit: Int) -> [String: [Entry]] {
        var lapsed: [Key] = []
        var taken: [Key] = []
        for (key, entry) in entries {
            if !entry.isLive(at: now) {
                lapsed.append(key)
            } else if entry.checkedInRound < round, taken.count < limit {
                taken.append(key)
            }
        }
        for key in lapsed { entries[key] = nil }
        var checks: [String: [Entry]] = [:]
        for key in taken {
            entries[key]?.checkedInRound = round
            if let entry = entries[key] { checks[key.service, default: []].append(entry) }
        }
        if taken.count < limit { round += 1 }  // every live entry has had its check
        return checks
    }

    /// The entries of a service whose ids are in `absent`: to register again.
    static func missing(_ entries: [Entry], absent: Set<String>) -> [Entry] {
        entries.filter { absent.contains($0.instance.id) }.sorted { $0.instance.id < $1.instance.id }
    }
}
