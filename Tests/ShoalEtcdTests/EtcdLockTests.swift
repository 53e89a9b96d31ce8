import Foundation
import ShoalCore
import ShoalDiscovery
import ShoalEtcd
import ShoalLock
import ShoalTesting
import Synchronization
import Testing

@Suite("EtcdLock on a real etcd cluster", .serialized, .timeLimit(.minutes(2)))
struct EtcdLockTests {
    @Test("take, refuse while held, renew, release once; the next holder's fencing token is higher")
    func lifecycle() async throws {
        let etcd = try EtcdCluster.start()
        defer { etcd.stop() }
        try await EtcdClient.withClient(try EtcdClientTests.configuration(etcd)) { client in
            let locks = EtcdLock(client: client)
            let first = try #require(try await locks.tryAcquire("report/daily", ttl: .seconds(5)))
            #expect(try await locks.tryAcquire("report/daily", ttl: .seconds(5)) == nil)
            // Another name, even one that starts the same, is another lock.
            let other = try #require(try await locks.tryAcquire("report", ttl: .seconds(5)))
            let renewed = try await locks.renew(first)
            #expect(renewed.fencingToken == first.fencingToken)
            #expect(renewed.confirmedUntil >= first.confirmedUntil)

            let held = try await locks.heldLocks()
            #expect(held.map(\.name) == ["report", "report/daily"])
            #expect(held.last?.fencingToken == first.fencingToken)
            #expect(held.last.map { $0.expiresIn > .seconds(3) && $0.expiresIn <= .seconds(5) } == true)

            #expect(try await locks.release(first) == .released)
            #expect(try await locks.release(first) == .notHeld)
            await #expect(throws: LockLost.self) { try await locks.renew(first) }
            let second = try #require(try await locks.tryAcquire("report/daily", ttl: .seconds(5)))
            #expect(second.fencingToken > first.fencingToken)
            #expect(try await locks.release(second) == .released)
            #expect(try await locks.release(other) == .released)
            #expect(try await client.list(prefix: "shoal/locks/").keyValues.isEmpty, "nothing is left behind")
        }
    }

    @Test("waiters are served in the order they came; a wait that runs out leaves the line")
    func waitersInOrder() async throws {
        let etcd = try EtcdCluster.start()
        defer { etcd.stop() }
        try await EtcdClient.withClient(try EtcdClientTests.configuration(etcd)) { client in
            let locks = EtcdLock(client: client)
            let holder = try #require(try await locks.tryAcquire("job", ttl: .seconds(5)))
            await #expect {
                try await locks.acquire("job", ttl: .seconds(5), wait: .milliseconds(300))
            } throws: { ($0 as? LockError)?.code == .notAcquired }

            let order = Recorder<Int>()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for waiter in 0..<3 {
                    group.addTask {
                        let lease = try await locks.acquire("job", ttl: .seconds(5), wait: .seconds(20))
                        order.append(waiter)
                        try await Task.sleep(for: .milliseconds(50))
                        _ = try await locks.release(lease)
                    }
                    // Each joins the line before the next.
                    #expect(
                        await eventually(within: 5) {
                            (try? await locks.heldLocks().first?.waiters) == waiter + 1
                        })
                }
                #expect(try await locks.release(holder) == .released)
                try await group.waitForAll()
            }
            #expect(order.values == [0, 1, 2])
        }
    }

    @Test(
        "a holder that stops renewing loses the lock when its lease ends: the next holder gets it, and the old holder's fenced write and renewal are refused"
    )
    func expiredHolderIsFencedOut() async throws {
        let etcd = try EtcdCluster.start()
        defer { etcd.stop() }
        try await EtcdClient.withClient(try EtcdClientTests.configuration(etcd)) { client in
            let locks = EtcdLock(client: client)
            let writes = FencedEtcdWrites(locks: locks)
            // The holder stalls: it takes the lock and never renews it.
            let stalled = try #require(try await locks.tryAcquire("resource", ttl: .seconds(2)))
            #expect(try await writes.put("app/resource", "stalled, in time", under: stalled) == .written)
            let started = ContinuousClock.now
            let next = try await locks.acquire("resource", ttl: .seconds(5), wait: .seconds(20))
            #expect(ContinuousClock.now - started >= .seconds(1), "the next holder waited for the lease to end")
            #expect(next.fencingToken > stalled.fencingToken)
            // The stalled holder resumes and writes: refused.
            #expect(try await writes.put("app/resource", "stalled, late", under: stalled) == .rejected)
            #expect(try await writes.put("app/resource", "next", under: next) == .written)
            #expect(try await client.get("app/resource")?.stringValue == "next")
            await #expect(throws: LockLost.self) { try await locks.renew(stalled) }
            #expect(try await locks.release(stalled) == .notHeld)
            #expect(try await locks.release(next) == .released)
        }
    }

    @Test("withLock cancels the body when the lease is lost, and throws LockLost")
    func withLockCancelsOnLoss() async throws {
        let etcd = try EtcdCluster.start()
        defer { etcd.stop() }
        try await EtcdClient.withClient(try EtcdClientTests.configuration(etcd)) { client in
            let locks = EtcdLock(client: client)
            let cancelled = Recorder<Bool>()
            await #expect(throws: LockLost.self) {
                try await locks.withLock("batch", ttl: .seconds(3), wait: .seconds(5)) { lease in
                    // Someone revokes the lease behind the holder's back (an operator, or etcd
                    // losing it): the next renewal finds it gone.
                    _ = try await client.revokeLease(Int64(bitPattern: UInt64(lease.token, radix: 16) ?? 0))
                    do {
                        try await Task.sleep(for: .seconds(30))
                    } catch {
                        cancelled.append(true)
                        throw error
                    }
                }
            }
            #expect(cancelled.values == [true])
        }
    }

    @Test("bad names and times are refused before etcd is asked")
    func invalidArguments() async throws {
        let etcd = try EtcdCluster.start()
        defer { etcd.stop() }
        try await EtcdClient.withClient(try EtcdClientTests.configuration(etcd)) { client in
            let locks = EtcdLock(client: client)
            for (name, ttl) in [("", Duration.seconds(5)), ("a", .milliseconds(500)), ("a", .zero)] {
                await #expect {
                    try await locks.tryAcquire(name, ttl: ttl)
                } throws: { ($0 as? LockError)?.code == .invalidArgument }
            }
            await #expect {
                try await locks.acquire("a", ttl: .seconds(2), wait: .seconds(-1))
            } throws: { ($0 as? LockError)?.code == .invalidArgument }
        }
    }

    @Test(
        "8 clients in turns on one lock with a fenced counter in etcd; the leader is killed: no lost update, no write out of token order"
    )
    func leaderKilledUnderLoad() async throws {
        let etcd = try EtcdCluster.start(members: 3)
        defer { etcd.stop() }
        let configuration = try EtcdClientTests.configuration(etcd)
        let writable = Recorder<Duration>()
        let registered = Recorder<Duration>()
        @Sendable func instance(_ number: Int) throws -> ServiceInstance {
            try ServiceInstance(service: "probe", id: "p\(number)", address: "10.0.0.1", port: 8080)
        }
        // A registry whose client was connected before the kill, as a running shoal serve's is.
        let report = try await EtcdClient.withClient(configuration) { writer in
            let registry = EtcdRegistry(client: writer)
            _ = try await registry.register(try instance(0), ttl: .seconds(30))
            return try await LockTurns.run(clients: 8, configuration: configuration, for: .seconds(8)) {
                try await Task.sleep(for: .seconds(3))
                let leader = try etcd.leader()
                etcd.kill(leader)
                let killedAt = ContinuousClock.now
                try await withThrowingTaskGroup(of: Void.self) { group in
                    // etcd's own unavailable window: when a fresh client's plain write succeeds again.
                    group.addTask {
                        try await EtcdClient.withClient(configuration) { probe in
                            while (try? await probe.put("app/probe", "x")) == nil {
                                try await Task.sleep(for: .milliseconds(20))
                            }
                            writable.append(ContinuousClock.now - killedAt)
                        }
                    }
                    // A registration, begun after the kill, that succeeds.
                    group.addTask {
                        var number = 1
                        while (try? await registry.register(try instance(number), ttl: .seconds(30))) == nil {
                            number += 1
                            try await Task.sleep(for: .milliseconds(20))
                        }
                        registered.append(ContinuousClock.now - killedAt)
                    }
                    try await group.waitForAll()
                }
                return killedAt
            }
        }
        #expect(report.lostUpdates == 0, "\(report)")
        #expect(report.unacknowledgedWrites <= report.failedTurns, "\(report)")
        #expect(report.overlaps == 0, "\(report)")
        #expect(report.outOfOrderWrites == 0, "\(report)")
        #expect(report.grantsAfterKill > 0, "\(report)")
        #expect(report.writes > 20, "\(report)")
        // The time from the kill to the next grant: measured and reported, not a goal here.
        print(
            "etcd lock, leader killed: \(report); etcd took writes again \(writable.values.first.map { "\($0)" } ?? "never") after the kill; "
                + "the registry \(registered.values.first.map { "\($0)" } ?? "never")"
        )
    }

    @Test(
        "8 clients in turns on five members on network hosts; the leader is killed, then the next leader is cut off: no lost update, no write out of token order, grants go on"
    )
    func leaderKilledThenLeaderCutOff() async throws {
        let lab = try NetworkLab(hosts: 5)
        defer { lab.tearDown() }
        let etcd = try EtcdCluster.start(on: (0..<5).map(lab.host))
        defer { etcd.stop() }
        let configuration = try EtcdClientTests.configuration(etcd)
        let killed = Recorder<Int>()
        let report = try await LockTurns.run(clients: 8, configuration: configuration, for: .seconds(12)) {
            try await Task.sleep(for: .seconds(3))
            let first = try etcd.leader()
            etcd.kill(first)
            killed.append(first)
            // Once another member leads, cut it off from the three others (the test process
            // still reaches it, as a client beside it would): they elect a third leader.
            var second = first
            while second == first {
                try await Task.sleep(for: .milliseconds(200))
                second = (try? etcd.leader()) ?? first
            }
            try lab.partition([second], from: (0..<5).filter { $0 != first && $0 != second })
            return ContinuousClock.now
        }
        #expect(killed.count == 1)
        #expect(report.lostUpdates == 0, "\(report)")
        #expect(report.unacknowledgedWrites <= report.failedTurns, "\(report)")
        #expect(report.overlaps == 0, "\(report)")
        #expect(report.outOfOrderWrites == 0, "\(report)")
        #expect(report.grantsAfterKill > 0, "grants go on after the cut: \(report)")
        print("etcd lock, leader killed then the next leader cut off: \(report)")
    }
}
