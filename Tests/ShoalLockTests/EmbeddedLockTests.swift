import ShoalCore
import ShoalLock
import ShoalTesting
import Synchronization
import Testing

@Suite("EmbeddedLock", .timeLimit(.minutes(1)))
struct EmbeddedLockTests {
    @Test("a held lock is not taken twice; release frees it; fencing tokens count up")
    func exclusion() async throws {
        let locks = EmbeddedLock(clock: ManualClock())
        let first = try #require(try await locks.tryAcquire("job", ttl: .seconds(10)))
        #expect(try await locks.tryAcquire("job", ttl: .seconds(10)) == nil)
        #expect(try await locks.release(first) == .released)
        #expect(try await locks.release(first) == .notHeld)
        let second = try #require(try await locks.tryAcquire("job", ttl: .seconds(10)))
        #expect(second.fencingToken == first.fencingToken + 1)
        #expect(second.token != first.token)
        #expect(try await locks.tryAcquire("other", ttl: .seconds(10)) != nil)
    }

    @Test("waiters are served first come, first served")
    func fifo() async throws {
        let clock = ManualClock()
        let locks = EmbeddedLock(clock: clock)
        let held = try #require(try await locks.tryAcquire("queue", ttl: .seconds(10)))
        let order = Shared<[Int]>([])
        var tasks: [Task<Void, any Error>] = []
        for waiter in 0..<5 {
            tasks.append(
                Task {
                    let lease = try await locks.acquire("queue", ttl: .seconds(10), wait: .seconds(60))
                    order.update { $0.append(waiter) }
                    _ = try await locks.release(lease)
                })
            await settle { locks.waiterCount("queue") == waiter + 1 }
        }
        #expect(try await locks.tryAcquire("queue", ttl: .seconds(1)) == nil)  // no queue jumping
        _ = try await locks.release(held)
        for task in tasks { try await task.value }
        #expect(order.value == [0, 1, 2, 3, 4])
        // Past the first holder's expiry the expiry watcher finds no one waiting and stops;
        // the waiters' 60 s wait time-outs ended when they got the lock.
        clock.advance(by: .seconds(11))
        await settle { clock.sleeperCount == 0 }
        #expect(clock.sleeperCount == 0)
    }

    @Test("a holder that lets its lease lapse loses the lock to the next waiter at expiry")
    func expiry() async throws {
        let clock = ManualClock()
        let locks = EmbeddedLock(clock: clock)
        let stale = try #require(try await locks.tryAcquire("lapse", ttl: .seconds(5)))
        let waiting = Task { try await locks.acquire("lapse", ttl: .seconds(5), wait: .seconds(60)) }
        await settle { locks.waiterCount("lapse") == 1 && clock.sleeperCount >= 1 }
        clock.advance(by: .seconds(4))
        await settle { false }
        #expect(locks.waiterCount("lapse") == 1)  // not yet
        clock.advance(by: .seconds(1))
        let next = try await waiting.value
        #expect(next.fencingToken == stale.fencingToken + 1)
        #expect(try await locks.release(stale) == .notHeld)  // never touches the new holder
        await #expect(throws: LockLost.self) { try await locks.renew(stale) }
        #expect(try await locks.release(next) == .released)
    }

    @Test("a lock handed on with a shorter lease goes to the next waiter when that lease lapses")
    func shorterLeaseHandedOn() async throws {
        let clock = ManualClock()
        let locks = EmbeddedLock(clock: clock)
        let first = try #require(try await locks.tryAcquire("relay", ttl: .seconds(100)))
        let second = Task { try await locks.acquire("relay", ttl: .seconds(5), wait: .seconds(300)) }
        await settle { locks.waiterCount("relay") == 1 }
        let third = Task { try await locks.acquire("relay", ttl: .seconds(5), wait: .seconds(300)) }
        await settle { locks.waiterCount("relay") == 2 && clock.sleeperCount >= 2 }
        clock.advance(by: .seconds(10))
        await settle { false }
        #expect(try await locks.release(first) == .released)
        let handed = try await second.value  // a 5 s lease, from 10 s; its holder never releases it
        #expect(handed.fencingToken == first.fencingToken + 1)
        await settle { false }
        clock.advance(by: .seconds(6))  // 16 s: the lease lapsed at 15 s, long before the first's 100 s
        let next = try await third.value
        #expect(next.fencingToken == handed.fencingToken + 1)
        #expect(try await locks.release(next) == .released)
    }

    @Test("a wait that runs out fails with notAcquired and leaves no waiter behind")
    func waitTimeout() async throws {
        let clock = ManualClock()
        let locks = EmbeddedLock(clock: clock)
        let held = try #require(try await locks.tryAcquire("busy", ttl: .seconds(60)))
        let waiting = Task { try await locks.acquire("busy", ttl: .seconds(5), wait: .seconds(3)) }
        await settle { locks.waiterCount("busy") == 1 && clock.sleeperCount >= 1 }
        clock.advance(by: .seconds(3))
        do {
            _ = try await waiting.value
            Issue.record("acquired a held lock")
        } catch let error as LockError {
            #expect(error.code == .notAcquired)
        }
        #expect(locks.waiterCount("busy") == 0)
        _ = try await locks.release(held)
    }

    @Test("cancelling a waiter leaves no waiter behind and does not disturb the queue")
    func cancellation() async throws {
        let clock = ManualClock()
        let locks = EmbeddedLock(clock: clock)
        let held = try #require(try await locks.tryAcquire("c", ttl: .seconds(60)))
        let cancelled = Task { try await locks.acquire("c", ttl: .seconds(5), wait: .seconds(30)) }
        await settle { locks.waiterCount("c") == 1 }
        let patient = Task { try await locks.acquire("c", ttl: .seconds(5), wait: .seconds(30)) }
        await settle { locks.waiterCount("c") == 2 }
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        #expect(locks.waiterCount("c") == 1)
        _ = try await locks.release(held)
        let lease = try await patient.value
        #expect(lease.fencingToken == held.fencingToken + 1)
    }

    @Test("withLock renews while the body runs, and releases at the end")
    func withLockRenews() async throws {
        let clock = ManualClock()
        let locks = EmbeddedLock(clock: clock)
        let inBody = Atomic<Bool>(false)
        let proceed = Atomic<Bool>(false)
        let body = Task {
            try await locks.withLock("report", ttl: .seconds(9), wait: .seconds(1)) { lease in
                inBody.store(true, ordering: .relaxed)
                while !proceed.load(ordering: .relaxed) { await Task.yield() }
                return lease.fencingToken
            }
        }
        // The watchdog's next renewal is due a third of the TTL from now.
        let renewalDue = { clock.sleeperDeadlines == [clock.now() + .seconds(3)] }
        await settle { inBody.load(ordering: .relaxed) && renewalDue() }
        for _ in 0..<10 {  // 30 s in 3 s steps: the watchdog renews each time
            clock.advance(by: .seconds(3))
            await settle(renewalDue)
        }
        #expect(try await locks.tryAcquire("report", ttl: .seconds(1)) == nil)  // still held
        proceed.store(true, ordering: .relaxed)
        #expect(try await body.value == 1)
        #expect(try await locks.tryAcquire("report", ttl: .seconds(1)) != nil)  // released
    }

    @Test("when the TTL passes without a confirmed renewal, the body is cancelled and LockLost thrown")
    func withLockLost() async throws {
        let clock = ManualClock()
        let locks = EmbeddedLock(clock: clock)
        let cancelledBody = Atomic<Bool>(false)
        let holder = Task {
            try await locks.withLock("stall", ttl: .seconds(6), wait: .seconds(1)) { _ in
                do {
                    try await clock.sleep(until: MonotonicInstant(nanoseconds: .max))
                } catch {
                    cancelledBody.store(true, ordering: .relaxed)
                    throw error
                }
            }
        }
        await settle { clock.sleeperCount == 2 }  // the body and the watchdog
        clock.advance(by: .seconds(60))  // a stall: no renewal could be confirmed in time
        do {
            try await holder.value
            Issue.record("the body finished although the lease was lost")
        } catch let lost as LockLost {
            #expect(lost.name == "stall")
            #expect(lost.fencingToken == 1)
        }
        let bodyWasCancelled = cancelledBody.load(ordering: .relaxed)
        #expect(bodyWasCancelled)
        #expect(try await locks.tryAcquire("stall", ttl: .seconds(1))?.fencingToken == 2)
    }

    @Test("16 holders doing read-modify-write lose no update, with fencing tokens in holding order")
    func contention() async throws {
        let locks = EmbeddedLock()
        let shared = Shared<(value: Int, fencing: [UInt64])>((0, []))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<16 {
                group.addTask {
                    for _ in 0..<25 {
                        try await locks.withLock("counter", ttl: .seconds(5), wait: .seconds(30)) { lease in
                            let read = shared.update { $0.value }
                            await Task.yield()  // let others run between the read and the write
                            shared.update {
                                $0.value = read + 1
                                $0.fencing.append(lease.fencingToken)
                            }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let (value, fencing) = shared.value
        #expect(value == 400)
        #expect(fencing == Array(1...400).map(UInt64.init))
        #expect(locks.activeNames == ["counter"])  // only its fencing counter remains
        #expect(locks.waiterCount("counter") == 0)
    }

    @Test("bad arguments are typed errors")
    func badArguments() async {
        let locks = EmbeddedLock(clock: ManualClock())
        await #expect(throws: LockError.self) { _ = try await locks.tryAcquire("", ttl: .seconds(1)) }
        await #expect(throws: LockError.self) { _ = try await locks.tryAcquire("x", ttl: .zero) }
        await #expect(throws: LockError.self) { _ = try await locks.acquire("x", ttl: .seconds(1), wait: .seconds(-1)) }
    }
}
