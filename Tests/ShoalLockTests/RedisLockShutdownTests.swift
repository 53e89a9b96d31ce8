import ShoalLock
import ShoalRedis
import ShoalTesting
import Testing

@Suite("RedisLock leaves nothing behind when run() ends", .timeLimit(.minutes(1)))
struct RedisLockShutdownTests {
    @Test("after run() ends, the pool's and the subscriber's connections are closed, and none comes back")
    func connectionsClosed() async throws {
        let redis = try RedisServer.start()
        let holder = redisLocks(redis)
        let locks = redisLocks(redis)
        let running = Task { try await locks.run() }
        // A wait for a held lock subscribes to release notices: both kinds of connection open.
        let held = try #require(try await holder.tryAcquire("job", ttl: .seconds(10)))
        let waiting = Task { try await locks.acquire("job", ttl: .seconds(10), wait: .seconds(30)) }
        #expect(await eventually { !locks.subscriber.subscribedChannels.isEmpty })
        _ = try await holder.release(held)
        let lease = try await waiting.value
        _ = try await locks.release(lease)
        await holder.close()
        #expect(try redis.connectedClients() >= 2, "the pool and the subscriber")
        running.cancel()
        try await running.value
        let closed = try await eventually(within: 2) { try redis.connectedClients() == 0 }
        #expect(closed, "\((try? redis.connectedClients()) ?? -1) clients still connected")
        // The server restarts on the same port: nothing of the lock service reconnects.
        try redis.restart()
        try await Task.sleep(for: .seconds(1))
        #expect(try redis.connectedClients() == 0)
    }
}
