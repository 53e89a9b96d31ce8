import Foundation
import ShoalTesting
import Testing

/// Locks on a Redis that Sentinel fails over, across real network hosts: a primary, two
/// replicas and three sentinels on six hosts, eight clients on three more, and the resource
/// they write to on a tenth. The clients take one lock in turns and add one to a counter on
/// the resource with fenced reads and writes; the primary dies mid-run.
@Suite("Locks through a Sentinel failover, across network hosts", .serialized, .timeLimit(.minutes(3)))
struct LockFailoverTests {
    enum Fault: String {
        case kill = "kill -9"
        case partition = "partitioned from every host"
    }

    @Test("kill -9 of the primary mid-run: accepted writes in token order, no lost update, locks granted again soon")
    func killedPrimary() async throws {
        try await failover(.kill)
    }

    @Test("the primary partitioned away mid-run: accepted writes in token order, no lost update, locks granted again soon")
    func partitionedPrimary() async throws {
        try await failover(.partition)
    }

    private func failover(_ fault: Fault) async throws {
        let run = try SentinelLab(hosts: 10)
        defer { run.tearDown() }
        let resource = try RedisServer.start(on: run.host(9))
        let clients = try FencedCounterClients(
            count: 8, on: [run.host(6), run.host(7), run.host(8)], lockURL: run.cluster.url, resource: resource,
            arguments: ["--turns", "100000", "--duration", "14s", "--ttl", "2s", "--wait", "30s"])
        try await Task.sleep(for: .seconds(4))
        let old = try run.cluster.primary()
        switch fault {
        case .kill: old.kill()
        case .partition: try run.lab.isolate(0)
        }
        let faultAt = ShoalBinary.now()
        let new = try await run.cluster.failover(from: old)
        #expect(new !== old)
        #expect(await clients.finished(within: 60), "clients still running: \(clients.errors())")

        let audit = try clients.audit(resource)
        let before = audit.written.filter { ($0.grantedAt ?? 0) < faultAt }
        let after = audit.written.compactMap(\.grantedAt).filter { $0 > faultAt }
        #expect(before.count > 20, "the clients were taking the lock before the fault: \(audit)")
        #expect(after.count > 20, "and again after it: \(audit)")
        #expect(audit.outOfOrder == 0, "\(audit)")
        #expect(audit.lostUpdates == 0, "\(audit)")
        let lastBefore = before.compactMap(\.grantedAt).max() ?? faultAt
        let firstAfter = after.min() ?? Int64.max
        let window = firstAfter - faultAt
        print(
            "LockFailover \(fault.rawValue): \(audit); last grant \(faultAt - lastBefore) ms before the fault, "
                + "first grant \(window) ms after it (down-after-milliseconds \(run.cluster.downAfterMilliseconds))")
        #expect(window < 15_000, "locks were granted again \(window) ms after the fault")
        if fault == .partition {
            // Healed, the old primary hears of the failover and becomes a replica.
            try run.lab.heal()
            #expect(await eventually(within: 30) { !SentinelCluster.isPrimary(old) })
        }
    }
}
