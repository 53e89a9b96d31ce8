import NIOCore
import ShoalCore
import ShoalLock
import ShoalRESP
import ShoalRedis
import ShoalTesting
import Testing

/// A lock service of its own on `redis`, as a separate process would have.
func redisLocks(_ redis: RedisServer) -> RedisLock {
    var configuration = redis.configuration
    configuration.connectTimeout = .seconds(1)
    return RedisLock(configuration: configuration)
}

/// What a test left on the server besides fencing counters: keys and subscribed channels.
func leftovers(_ redis: RedisServer) throws -> [String] {
    var left = try redis.keys().filter { !$0.hasSuffix(":fence") }
    if case .array(let channels) = try redis.command("PUBSUB", "CHANNELS") {
        left += channels.compactMap(\.string).map { "channel \($0)" }
    }
    return left
}

@Suite("RedisLock against a real redis-server", .serialized, .timeLimit(.minutes(1)))
struct RedisLockTests {
    @Test("16 holders doing read-modify-write: no lost update, fencing tokens strictly increasing")
    func mutualExclusion() async throws {
        let redis = try RedisServer.start()
        // The application's own data, on a connection of its own (not Shoal's user).
        let connection = try await RedisConnection.connect(RedisConfiguration(host: redis.host, port: redis.port))
        let holders = (0..<16).map { _ in redisLocks(redis) }
        let tokens = Shared<[UInt64]>([])
        let rounds = 10
        try await withThrowingTaskGroup(of: Void.self) { group in
            for locks in holders {
                group.addTask {
                    for _ in 0..<rounds {
                        // A TTL that the watchdog keeps renewing even on a machine busy with
                        // other tests; exclusion does not depend on its length.
                        try await locks.withLock("counter", ttl: .seconds(20), wait: .seconds(30)) { lease in
                            tokens.update { $0.append(lease.fencingToken) }
                            let value = try await connection.send(RESPCommand("GET", "counter")).string ?? "0"
                            try await Task.sleep(for: .microseconds(200))  // widen the race window
                            _ = try await connection.send(RESPCommand("SET", "counter", String((Int(value) ?? 0) + 1)))
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try redis.command("GET", "counter").string == String(16 * rounds))
        let seen = tokens.value
        #expect(seen.count == 16 * rounds)
        #expect(zip(seen, seen.dropFirst()).allSatisfy { $0 < $1 })
        for locks in holders { await locks.close() }
        _ = try redis.command("DEL", "counter")
        #expect(try await eventually { try leftovers(redis).isEmpty })
        await connection.close()
    }

    @Test("waiters across lock services are served first come, first served")
    func fifo() async throws {
        let redis = try RedisServer.start()
        let holder = redisLocks(redis)
        let held = try #require(try await holder.tryAcquire("line", ttl: .seconds(10)))
        let order = Shared<[Int]>([])
        var tasks: [Task<Void, any Error>] = []
        for waiter in 0..<5 {
            let locks = redisLocks(redis)
            tasks.append(
                Task {
                    let lease = try await locks.acquire("line", ttl: .seconds(10), wait: .seconds(30))
                    order.update { $0.append(waiter) }
                    _ = try await locks.release(lease)
                    await locks.close()
                })
            #expect(
                try await eventually {
                    try redis.command("LLEN", "shoal:lock:line:queue") == .integer(Int64(waiter + 1))
                })
        }
        #expect(try await holder.tryAcquire("line", ttl: .seconds(1)) == nil)  // no queue jumping
        #expect(try await holder.release(held) == .released)
        for task in tasks { try await task.value }
        #expect(order.value == [0, 1, 2, 3, 4])
        await holder.close()
        #expect(try await eventually { try leftovers(redis).isEmpty })
    }

    @Test("cancelling a waiter, or a wait that runs out, leaves no key, place in line or subscription")
    func cancelledWaiter() async throws {
        let redis = try RedisServer.start()
        let holder = redisLocks(redis)
        let waiter = redisLocks(redis)
        let held = try #require(try await holder.tryAcquire("busy", ttl: .seconds(10)))
        let waiting = Task { try await waiter.acquire("busy", ttl: .seconds(10), wait: .seconds(30)) }
        #expect(try await eventually { try redis.command("LLEN", "shoal:lock:busy:queue") == .integer(1) })
        waiting.cancel()
        #expect(await caught(CancellationError.self) { _ = try await waiting.value } != nil)
        #expect(try redis.keys().sorted() == ["shoal:lock:busy", "shoal:lock:busy:fence"])
        // The release notices stay subscribed for the subscriber's linger (1 s), then go.
        #expect(await eventually { waiter.subscriber.subscribedChannels.isEmpty })

        let started = ContinuousClock.now
        let timedOut = await caught(LockError.self) {
            _ = try await waiter.acquire("busy", ttl: .seconds(10), wait: .milliseconds(300))
        }
        #expect(timedOut?.code == .notAcquired)
        #expect(ContinuousClock.now - started >= .milliseconds(300))
        #expect(try redis.keys().sorted() == ["shoal:lock:busy", "shoal:lock:busy:fence"])
        _ = try await holder.release(held)
        await holder.close()
        await waiter.close()
        #expect(try await eventually { try leftovers(redis).isEmpty })
    }

    @Test("a name whose key is another lock's counter or line is refused, and nothing is written")
    func reservedNames() async throws {
        let redis = try RedisServer.start()
        let locks = redisLocks(redis)
        let held = try #require(try await locks.tryAcquire("x", ttl: .seconds(10)))
        for name in ["x:fence", "x:queue", "x:queue:deadlines", "x:queue:waiters"] {
            await #expect {
                _ = try await locks.tryAcquire(name, ttl: .seconds(10))
            } throws: { error in
                (error as? LockError)?.code == .invalidArgument && "\(error)".contains("rename '\(name)'")
            }
            await #expect {
                _ = try await locks.acquire(name, ttl: .seconds(10), wait: .milliseconds(50))
            } throws: { error in
                (error as? LockError)?.code == .invalidArgument
            }
        }
        #expect(try redis.keys().sorted() == ["shoal:lock:x", "shoal:lock:x:fence"])
        // Other names with colons are fine.
        #expect(try await locks.tryAcquire("x:fenced", ttl: .seconds(10)) != nil)
        #expect(try await locks.release(held) == .released)
        await locks.close()
    }

    @Test("a release after expiry is notHeld and leaves the new holder's key alone")
    func releaseAfterExpiry() async throws {
        let redis = try RedisServer.start()
        let locks = redisLocks(redis)
        let stale = try #require(try await locks.tryAcquire("report", ttl: .milliseconds(100)))
        try await Task.sleep(for: .milliseconds(200))
        let next = try #require(try await locks.tryAcquire("report", ttl: .seconds(10)))
        #expect(next.fencingToken > stale.fencingToken)
        #expect(try await locks.release(stale) == .notHeld)
        // Past its end, a lease is lost whatever Redis says: renewing it does not ask.
        let renewal = await caught(LockLost.self) { _ = try await locks.renew(stale) }
        #expect(renewal?.reason.contains("ran out before this renewal") == true)
        #expect(try redis.command("GET", "shoal:lock:report").string == next.token)
        #expect(try await locks.release(next) == .released)
        await locks.close()
        #expect(try await eventually { try leftovers(redis).isEmpty })
    }

    @Test("a waiter that stopped trying holds up the line only until its place lapses")
    func lapsedPlace() async throws {
        let redis = try RedisServer.start()
        let locks = redisLocks(redis)
        // A waiter that crashed: first in line, never trying again.
        _ = try redis.command("RPUSH", "shoal:lock:job:queue", "ghost")
        let time = try redis.command("TIME")
        guard case .array(let parts) = time, let seconds = parts[0].string.flatMap(Int.init) else {
            Issue.record("TIME answered \(time)")
            return
        }
        _ = try redis.command("ZADD", "shoal:lock:job:queue:deadlines", String(seconds * 1000 + 2000), "ghost")
        #expect(try await locks.tryAcquire("job", ttl: .seconds(5)) == nil)  // the ghost's turn
        let lease = try await locks.acquire("job", ttl: .seconds(5), wait: .seconds(10))
        #expect(try await locks.release(lease) == .released)
        await locks.close()
        #expect(try await eventually { try leftovers(redis).isEmpty })
    }

    @Test("release hands the lock to the first in line; one that died in line holds it for its TTL, then it frees")
    func handOverToTheDead() async throws {
        let redis = try RedisServer.start()
        let locks = redisLocks(redis)
        let held = try #require(try await locks.tryAcquire("job", ttl: .seconds(10)))
        // A waiter that joined the line with a 1.2 s TTL, then died.
        let time = try redis.command("TIME")
        guard case .array(let parts) = time, let seconds = parts[0].string.flatMap(Int.init) else {
            Issue.record("TIME answered \(time)")
            return
        }
        _ = try redis.command("RPUSH", "shoal:lock:job:queue", "ghost")
        _ = try redis.command("ZADD", "shoal:lock:job:queue:deadlines", String(seconds * 1000 + 60_000), "ghost")
        _ = try redis.command("HSET", "shoal:lock:job:queue:waiters", "ghost", "1200 shoal:lock:notices:ghost")
        #expect(try await locks.release(held) == .released)
        #expect(try redis.command("GET", "shoal:lock:job").string == "ghost")
        guard case .integer(let remaining) = try redis.command("PTTL", "shoal:lock:job") else {
            Issue.record("the handed-over key has no TTL")
            return
        }
        #expect(remaining > 900 && remaining <= 1200)  // the TTL the dead waiter asked for
        let handedToken = try #require(try redis.command("GET", "shoal:lock:job:fence").string.flatMap(UInt64.init))
        #expect(handedToken > held.fencingToken)
        let started = ContinuousClock.now
        let lease = try await locks.acquire("job", ttl: .seconds(5), wait: .seconds(5))
        let waited = ContinuousClock.now - started
        #expect(waited >= .milliseconds(remaining - 50) && waited < .milliseconds(remaining + 700))
        #expect(lease.fencingToken > handedToken)
        _ = try await locks.release(lease)
        await locks.close()
        let clean = try await eventually { try leftovers(redis).isEmpty }
        #expect(clean, "left: \((try? leftovers(redis)) ?? [])")
    }

    @Test("Redis paused past the time-to-live: the body is cancelled and withLock throws LockLost")
    func redisPaused() async throws {
        let redis = try RedisServer.start()
        let locks = redisLocks(redis)
        let bodyCancelled = Shared(false)
        let started = ContinuousClock.now
        let lost = await caught(LockLost.self) {
            try await locks.withLock("paused", ttl: .seconds(1), wait: .seconds(1)) { _ in
                try redis.pause()
                do {
                    try await Task.sleep(for: .seconds(30))
                } catch {
                    bodyCancelled.update { $0 = true }
                }
            }
        }
        try redis.resume()
        #expect(lost?.name == "paused")
        #expect(bodyCancelled.value)
        #expect(ContinuousClock.now - started < .seconds(2))
        await locks.close()
        #expect(try await eventually { try leftovers(redis).isEmpty })  // the key expires
    }

    @Test("Redis restarted empty while held: the holder learns of the loss at its next renewal")
    func redisRestarted() async throws {
        let redis = try RedisServer.start()
        let locks = redisLocks(redis)
        let lost = await caught(LockLost.self) {
            try await locks.withLock("restarted", ttl: .milliseconds(900), wait: .seconds(1)) { _ in
                try redis.restart()
                try await Task.sleep(for: .seconds(30))
            }
        }
        #expect(lost?.reason.contains("no longer holds") == true)
        await locks.close()
        #expect(try await eventually { try leftovers(redis).isEmpty })
    }
}
