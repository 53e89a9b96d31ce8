import ShoalCore
import ShoalDiscovery
import ShoalRESP
import ShoalRedis
import ShoalTesting
import Testing

@Suite("RedisRegistry leaves nothing behind when run() ends")
struct RedisRegistryShutdownTests {
    @Test("after run() ends, every connection it opened is closed")
    func connectionsClosed() async throws {
        let redis = try RedisServer.start()
        let registry = redisRegistry(redis)
        let running = Task { try await registry.run() }
        var iterator = registry.subscribe("payments").makeAsyncIterator()
        #expect(await next(&iterator)?.instances.isEmpty == true)
        _ = try await registry.register(try instance("p1"), ttl: .seconds(30))
        #expect(await next(&iterator)?.instances.map(\.id) == ["p1"])
        let open = try redis.connectedClients()
        #expect(open >= 2, "the pool and the subscriber: \(open) clients")  // pool + subscriber
        running.cancel()
        try await running.value
        #expect(await next(&iterator, within: 1) == nil)  // the subscription finished
        let closed = try await eventually(within: 2) { try redis.connectedClients() == 0 }
        #expect(closed, "\((try? redis.connectedClients()) ?? -1) clients still connected")
    }

    @Test("with Redis away, run() ends when cancelled and nothing goes on trying to reach it")
    func nothingRetriesAfterwards() async throws {
        let redis = try RedisServer.start()
        let registry = redisRegistry(redis)
        redis.stop()
        let running = Task { try await registry.run() }
        let stream = registry.subscribe("payments")  // its listener retries while Redis is away
        try await Task.sleep(for: .milliseconds(700))
        let stopping = ContinuousClock.now
        running.cancel()
        try await running.value
        #expect(ContinuousClock.now - stopping < .seconds(10))
        for await _ in stream {}  // finished, not left open
        // Redis comes back on the same port: nothing of the registry connects to it.
        try redis.restart()
        try await Task.sleep(for: .seconds(2))
        #expect(try redis.connectedClients() == 0)
    }

    @Test("a second run() only waits for the shutdown; the first serves subscriptions")
    func secondRun() async throws {
        let redis = try RedisServer.start()
        let registry = redisRegistry(redis)
        let first = Task { try await registry.run() }
        var iterator = registry.subscribe("payments").makeAsyncIterator()
        #expect(await next(&iterator)?.instances.isEmpty == true)
        // Started once the first serves (the snapshot came through it): tasks start in no set
        // order, and the one that calls run() first is the one that serves.
        let second = Task { try await registry.run() }
        _ = try await registry.register(try instance("p1"), ttl: .seconds(30))
        #expect(await next(&iterator)?.instances.map(\.id) == ["p1"])
        second.cancel()
        try await second.value
        _ = try await registry.register(try instance("p2"), ttl: .seconds(30))
        #expect(await next(&iterator)?.instances.map(\.id).sorted() == ["p1", "p2"])  // the first still serves
        first.cancel()
        try await first.value
    }
}
