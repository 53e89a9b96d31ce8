import Foundation
import ShoalEtcd
import ShoalLock

/// Clients that take turns on one etcd lock, each turn a read-modify-write of a counter in
/// etcd through ``FencedEtcdWrites``, while a fault is done to the cluster; and what a watch
/// of the counter saw.
struct LockTurns: CustomStringConvertible {
    /// Writes the holders saw accepted.
    var writes = 0
    /// Accepted writes that the counter does not show (its final value is short of them).
    var lostUpdates = 0
    /// Writes the counter shows that no holder saw accepted: a write that etcd committed
    /// while its answer was lost to a fault, so its turn failed. At most one per failed turn.
    var unacknowledgedWrites = 0
    /// Writes, in etcd's order, whose fencing token was below the one before.
    var outOfOrderWrites = 0
    /// Why the failed turns failed.
    var failures: [String] = []
    /// Turns that began while another holder's turn had not ended.
    var overlaps = 0
    /// Turns that failed (a wait that ran out, a lost lease, etcd unavailable).
    var failedTurns = 0
    /// Grants after the fault, and how long after it the first came.
    var grantsAfterKill = 0
    var firstGrantAfterKill: Duration?
    /// Each holder's share of the turns, smallest over largest.
    var fairness = 0.0

    var description: String {
        "\(writes) writes, \(lostUpdates) lost, \(unacknowledgedWrites) unacknowledged, \(overlaps) overlapping turns, \(outOfOrderWrites) out of token order, \(failedTurns) failed turns, "
            + "\(grantsAfterKill) grants after the fault, the first \(firstGrantAfterKill.map { "\($0)" } ?? "never") after it, "
            + String(format: "min/max share %.2f", fairness) + (failures.isEmpty ? "" : "; failures: \(failures)")
    }

    static let counterKey = "app/counter"

    struct Grant: Sendable {
        let holder: Int
        let at: ContinuousClock.Instant
    }

    /// Runs `clients` clients for `duration`, each with a client of its own, and `fault`
    /// beside them; `fault` returns when it struck.
    static func run(
        clients: Int, configuration: EtcdConfiguration, for duration: Duration,
        section: Duration = .milliseconds(1),
        fault: @escaping @Sendable () async throws -> ContinuousClock.Instant
    ) async throws -> LockTurns {
        let start = try await EtcdClient.withClient(configuration) { client in
            try await client.put(counterKey, "0 0")
        }
        let grants = Recorder<Grant>()
        let accepted = Recorder<Bool>()
        let failed = Recorder<String>()
        let deadline = ContinuousClock.now + duration
        let seen = Recorder<UInt64>()
        let inside = Recorder<Int>()
        let overlaps = Recorder<Bool>()
        let struck = try await EtcdClient.withClient(configuration) { watcher in
            try await withThrowingTaskGroup(of: ContinuousClock.Instant?.self) { group in
                group.addTask {
                    try await watcher.watch(prefix: counterKey, exactKey: true, from: start + 1) { events, _ in
                        for event in events where event.kind == .put {
                            let parts = event.keyValue.stringValue.split(separator: " ")
                            if parts.count == 2, let token = UInt64(parts[1]) { seen.append(token) }
                        }
                        return .continue
                    }
                    return nil
                }
                group.addTask { try await fault() }
                for holder in 0..<clients {
                    group.addTask {
                        try await EtcdClient.withClient(configuration) { client in
                            let locks = EtcdLock(client: client)
                            let writes = FencedEtcdWrites(locks: locks)
                            while ContinuousClock.now < deadline {
                                do {
                                    try await locks.withLock("counter", ttl: .seconds(3), wait: .seconds(15)) { lease in
                                        grants.append(Grant(holder: holder, at: ContinuousClock.now))
                                        if inside.appendReturningCount(holder) > 1 { overlaps.append(true) }
                                        defer { inside.remove(holder) }
                                        let value = try await client.get(counterKey)?.stringValue ?? "0 0"
                                        let count = Int(value.split(separator: " ").first ?? "0") ?? 0
                                        try await Task.sleep(for: section)
                                        let outcome = try await writes.put(
                                            counterKey, "\(count + 1) \(lease.fencingToken)", under: lease)
                                        if outcome == .written { accepted.append(true) }
                                    }
                                } catch {
                                    failed.append("\(error)")
                                }
                            }
                        }
                        return nil
                    }
                }
                var struck: ContinuousClock.Instant?
                var holdersLeft = clients
                while holdersLeft > 0, let finished = try await group.next() {
                    if let finished { struck = finished } else { holdersLeft -= 1 }
                }
                // Let the watch catch up with the last write, then stop it.
                try await Task.sleep(for: .milliseconds(500))
                group.cancelAll()
                while let finished = try? await group.next() { if let finished { struck = finished } }
                return struck
            }
        }
        var report = LockTurns()
        report.writes = accepted.count
        report.failedTurns = failed.count
        report.failures = failed.values
        report.overlaps = overlaps.count
        let final = try await EtcdClient.withClient(configuration) { client in
            Int(try await client.get(counterKey)?.stringValue.split(separator: " ").first ?? "0") ?? 0
        }
        report.lostUpdates = max(report.writes - final, 0)
        report.unacknowledgedWrites = max(final - report.writes, 0)
        var last: UInt64 = 0
        for token in seen.values {
            // The same token twice is one holder's write repeated (a retry after a lost
            // answer writes the same value): in order.
            if token < last { report.outOfOrderWrites += 1 }
            last = token
        }
        let granted = grants.values
        if let struck {
            let after = granted.filter { $0.at > struck }
            report.grantsAfterKill = after.count
            report.firstGrantAfterKill = after.map(\.at).min().map { $0 - struck }
        }
        var turns = Array(repeating: 0, count: clients)
        for grant in granted { turns[grant.holder] += 1 }
        report.fairness = Double(turns.min() ?? 0) / Double(max(turns.max() ?? 1, 1))
        return report
    }
}
