import ShoalCore
import ShoalDiscovery
import ShoalRedis
import ShoalTesting
import Testing

/// A registry of its own on `redis`, as another process would have, quick to notice that the
/// server is away; `leaseTimeout` is how long a call waits for one of the pool's connections.
func redisRegistry(_ redis: RedisServer, leaseTimeout: Duration = .seconds(5)) -> RedisRegistry {
    var configuration = redis.configuration
    configuration.connectTimeout = .milliseconds(500)
    configuration.commandTimeout = .milliseconds(500)
    return RedisRegistry(
        pool: RedisConnectionPool(
            configuration: configuration, pool: RedisPoolConfiguration(leaseTimeout: leaseTimeout)),
        subscriber: RedisSubscriber(configuration: configuration))
}

/// The next snapshot from `iterator` within `seconds`, or `nil`.
func next(
    _ iterator: inout AsyncStream<ServiceSnapshot>.Iterator, within seconds: Double = 5
) async -> ServiceSnapshot? {
    nonisolated(unsafe) var current = iterator
    let result = await withTaskGroup(of: ServiceSnapshot?.self) { group in
        group.addTask { await current.next() }
        group.addTask {
            try? await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
            return nil
        }
        let first = await group.next() ?? nil
        group.cancelAll()
        return first
    }
    iterator = current
    return result
}

@Suite("RedisRegistry against a real redis-server", .serialized, .timeLimit(.minutes(1)))
struct RedisRegistryTests {
    @Test("a burst of changes elsewhere: the watcher's lookups are coalesced and its last snapshot has them all")
    func burstCoalesced() async throws {
        let redis = try RedisServer.start()
        // 200 registrations at once wait in line for the pool's connections: on a loaded
        // machine (parallel `swift test`) longer than the default 5 s.
        let a = redisRegistry(redis, leaseTimeout: .seconds(60))
        let b = redisRegistry(redis)
        let running = Task { try await b.run() }
        var iterator = b.subscribe("burst").makeAsyncIterator()
        #expect(await next(&iterator)?.instances.isEmpty == true)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 0..<200 {
                group.addTask { _ = try await a.register(try instance("i\(n)", service: "burst"), ttl: .seconds(30)) }
            }
            try await group.waitForAll()
        }
        var last: ServiceSnapshot?
        while last?.instances.count != 200, let snapshot = await next(&iterator) {
            #expect(snapshot.index > (last?.index ?? 0))
            last = snapshot
        }
        #expect(last?.instances.count == 200)
        // Scripts run as EVALSHA (EVAL once per script): all but the 200 registrations are lookups.
        let stats = try redis.command("INFO", "commandstats").string ?? ""
        let scripts = ["evalsha", "eval"].reduce(0) { total, name in
            let line = stats.split(separator: "\r\n").first { $0.hasPrefix("cmdstat_\(name):") }
            let calls = line?.split(separator: ",").first?.split(separator: "=").last.flatMap { Int($0) }
            return total + (calls ?? 0)
        }
        #expect(scripts - 200 <= 100, "one per change would be about 200: \(scripts - 200)")
        await a.close()
        running.cancel()
        try await running.value
    }

    @Test("two registries on one Redis: a registration on one is pushed to a watcher on the other; renewals are not")
    func pushedAcrossProcesses() async throws {
        let redis = try RedisServer.start()
        let a = redisRegistry(redis)
        let b = redisRegistry(redis)
        let running = Task { try await b.run() }
        let stream = b.subscribe("payments")
        var iterator = stream.makeAsyncIterator()
        #expect(await next(&iterator)?.instances.isEmpty == true)
        let stored = try await a.register(try instance("p1"), ttl: .seconds(10))
        #expect(stored.registeredAt > 1_700_000_000_000)
        let registered = try #require(await next(&iterator))
        #expect(registered.instances.map(\.id) == ["p1"])
        #expect(registered.instances.first?.port == 8080 && registered.instances.first?.metadata == ["v": "1"])
        #expect(try await a.renew(service: "payments", id: "p1"))
        _ = try await a.register(try instance("p1"), ttl: .seconds(10))  // the same again
        #expect(try await a.setHealth(.critical, service: "payments", id: "p1"))
        let critical = try #require(await next(&iterator))
        #expect(critical.index > registered.index && critical.healthy.isEmpty)  // no snapshot in between
        #expect(try await a.deregister(service: "payments", id: "p1"))
        #expect(try await !a.deregister(service: "payments", id: "p1"))
        let gone = try #require(await next(&iterator))
        #expect(gone.index > critical.index && gone.instances.isEmpty)
        #expect(try await !a.renew(service: "payments", id: "p1"))
        #expect(try await b.services().isEmpty)
        await a.close()
        running.cancel()
        try await running.value
    }

    @Test(
        "a watcher elsewhere applies what notices carry without reading Redis, and reads the whole service after a gap")
    func appliesWhatNoticesCarry() async throws {
        let redis = try RedisServer.start()
        let a = redisRegistry(redis)
        let b = RedisRegistry(  // no sweeper in the way of counting scripts
            pool: RedisConnectionPool(configuration: redis.configuration),
            subscriber: RedisSubscriber(configuration: redis.configuration), sweepInterval: .seconds(3600))
        let running = Task { try await b.run() }
        for n in 0..<30 { _ = try await a.register(try instance("i\(n)"), ttl: .seconds(30)) }
        var iterator = b.subscribe("payments").makeAsyncIterator()
        var seen = try #require(await next(&iterator))
        #expect(seen.instances.count == 30)
        // Behind the registry's back, with no notice: a read of the whole service would see it.
        let stored = try #require(try redis.command("HGET", "shoal:registry:svc:payments", "i0").string)
        _ = try redis.command(
            "HSET", "shoal:registry:svc:payments", "i0", stored.replacingOccurrences(of: "8080", with: "7070"))

        // Each script's first run is EVALSHA refused, then EVAL: run them once beforehand.
        _ = try await a.deregister(service: "payments", id: "nobody")
        _ = try await a.setHealth(.passing, service: "payments", id: "nobody")
        let scriptsBefore = try Self.scriptCalls(redis)
        _ = try await a.register(try instance("i1", port: 9090), ttl: .seconds(30))
        _ = try await a.deregister(service: "payments", id: "i2")
        _ = try await a.setHealth(.critical, service: "payments", id: "i3")
        while seen.instances.first(where: { $0.id == "i3" })?.health != .critical {
            seen = try #require(await next(&iterator))
        }
        let scripts = try Self.scriptCalls(redis) - scriptsBefore
        #expect(scripts == 3, "the watcher ran scripts of its own: \(scripts - 3)")
        #expect(seen.instances.count == 29 && !seen.instances.contains { $0.id == "i2" })
        #expect(seen.instances.first { $0.id == "i1" }?.port == 9090)
        #expect(seen.instances.first { $0.id == "i0" }?.port == 8080, "the watcher read i0 without a notice naming it")
        #expect(seen == (try await b.lookup("payments")).replacing("i0", port: 8080))

        // A notice whose previous index is not the watcher's: notices went missing. (The
        // lookup above read i0 as it is; i5 is changed behind the registry's back after it.)
        let five = try #require(try redis.command("HGET", "shoal:registry:svc:payments", "i5").string)
        _ = try redis.command(
            "HSET", "shoal:registry:svc:payments", "i5", five.replacingOccurrences(of: "8080", with: "6060"))
        let index = seen.index
        _ = try redis.command("SET", "shoal:registry:index:payments", String(index + 1))
        _ = try redis.command("PUBLISH", "shoal:registry:changes", "payments \(index + 1) \(index - 5) +i4")
        let reread = try #require(await next(&iterator))
        #expect(reread.index == index + 1)
        #expect(reread.instances.first { $0.id == "i5" }?.port == 6060, "a gap must read the whole service")
        await a.close()
        running.cancel()
        try await running.value
    }

    @Test("a lookup that reads past the watchers, then the notice it read past: the watchers get the change")
    func lookupAheadOfWatchers() async throws {
        let redis = try RedisServer.start()
        let a = redisRegistry(redis)
        let b = redisRegistry(redis)
        let running = Task { try await b.run() }
        for n in 0..<3 { _ = try await a.register(try instance("i\(n)"), ttl: .seconds(30)) }
        var iterator = b.subscribe("payments").makeAsyncIterator()
        var seen = try #require(await next(&iterator))
        while seen.instances.count < 3 { seen = try #require(await next(&iterator)) }
        // A change whose notice is slow to come: the lookup reads it first.
        let stored = try #require(try redis.command("HGET", "shoal:registry:svc:payments", "i1").string)
        _ = try redis.command(
            "HSET", "shoal:registry:svc:payments", "i1", stored.replacingOccurrences(of: "8080", with: "6060"))
        _ = try redis.command("SET", "shoal:registry:index:payments", String(seen.index + 1))
        #expect(try await b.lookup("payments").index == seen.index + 1)
        _ = try redis.command("PUBLISH", "shoal:registry:changes", "payments \(seen.index + 1) \(seen.index) +i1")
        let changed = try #require(await next(&iterator))
        #expect(changed.index == seen.index + 1)
        #expect(changed.instances.first { $0.id == "i1" }?.port == 6060, "the watchers missed the change")
        await a.close()
        running.cancel()
        try await running.value
    }

    /// The scripts Redis has run (EVAL and EVALSHA), from INFO commandstats.
    static func scriptCalls(_ redis: RedisServer) throws -> Int {
        let stats = try redis.command("INFO", "commandstats").string ?? ""
        return ["evalsha", "eval"].reduce(0) { total, name in
            let line = stats.split(separator: "\r\n").first { $0.hasPrefix("cmdstat_\(name):") }
            let calls = line?.split(separator: ",").first?.split(separator: "=").last.flatMap { Int($0) }
            return total + (calls ?? 0)
        }
    }

    @Test("an instance not renewed disappears within its TTL plus the sweep interval, for watchers elsewhere")
    func expiry() async throws {
        let redis = try RedisServer.start()
        let a = redisRegistry(redis)
        let b = redisRegistry(redis)
        let sweeper = Task { try await b.run() }
        let stream = b.subscribe("payments")
        var iterator = stream.makeAsyncIterator()
        _ = await next(&iterator)
        let registered = ContinuousClock.now
        _ = try await a.register(try instance("p1"), ttl: .seconds(1))
        #expect(await next(&iterator)?.instances.count == 1)
        let gone = try #require(await next(&iterator))
        let after = ContinuousClock.now - registered
        #expect(gone.instances.isEmpty)
        #expect(after >= .milliseconds(950) && after < .seconds(2))  // TTL + 1 s at most
        sweeper.cancel()
        try await sweeper.value
        await a.close()
    }

    @Test("with Redis paused, lookups serve the last snapshot marked stale; then fresh again")
    func staleWhileAway() async throws {
        let redis = try RedisServer.start()
        let registry = redisRegistry(redis)
        _ = try await registry.register(try instance("p1"), ttl: .seconds(30))
        #expect(try await registry.lookup("payments").isStale == false)
        try redis.pause()
        let stale = try await registry.lookup("payments")
        try redis.resume()
        #expect(stale.isStale && stale.instances.map(\.id) == ["p1"])
        let fresh = try await registry.lookup("payments")
        #expect(!fresh.isStale && fresh.instances.map(\.id) == ["p1"])
        let unknown = await caught(DiscoveryError.self) {
            try redis.pause()
            defer { try? redis.resume() }
            _ = try await registry.lookup("never-seen")
        }
        #expect(unknown?.code == .backendFailure)
        await registry.close()
    }

    @Test("Redis restarted empty: a Registration registers again and watchers elsewhere see it come back")
    func restarted() async throws {
        let redis = try RedisServer.start()
        let a = redisRegistry(redis)
        let b = redisRegistry(redis)
        let registration = Registration(registry: a, instance: try instance("p1"), ttl: .seconds(1))
        let running = Task { try await registration.run() }
        let watching = Task { try await b.run() }
        let stream = b.subscribe("payments")
        var iterator = stream.makeAsyncIterator()
        var seen = await next(&iterator)
        if seen?.instances.isEmpty == true { seen = await next(&iterator) }
        #expect(seen?.instances.map(\.id) == ["p1"])
        try redis.restart()
        var back: ServiceSnapshot?
        for _ in 0..<10 {  // an empty snapshot (or a stale one) may come first
            back = await next(&iterator)
            if back?.instances.map(\.id) == ["p1"], back?.isStale == false { break }
        }
        #expect(back?.instances.map(\.id) == ["p1"] && back?.isStale == false)
        running.cancel()
        try await running.value
        #expect(try await b.lookup("payments").instances.isEmpty)  // deregistered on the way out
        await a.close()
        watching.cancel()
        try await watching.value
    }

    @Test("a TTL outside 1 s ... 1 h is refused and stores nothing")
    func validation() async throws {
        let redis = try RedisServer.start()
        let registry = redisRegistry(redis)
        let error = await caught(DiscoveryError.self) {
            _ = try await registry.register(try instance("p1"), ttl: .milliseconds(500))
        }
        #expect(error?.field == "ttl")
        #expect(try redis.keys().isEmpty)
        await registry.close()
    }
}

extension ServiceSnapshot {
    /// The snapshot with one instance's port replaced, to compare with what a watcher holds.
    func replacing(_ id: String, port: Int) -> ServiceSnapshot {
        ServiceSnapshot(
            service: service, index: index,
            instances: instances.map { instance in
                guard instance.id == id else { return instance }
                var changed = instance
                changed.port = port
                return changed
            }, isStale: isStale)
    }
}
