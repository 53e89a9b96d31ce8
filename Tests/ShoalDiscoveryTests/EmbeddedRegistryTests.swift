import ShoalCore
import ShoalDiscovery
import ShoalTesting
import Testing

func instance(_ id: String, port: Int = 8080, service: String = "payments") throws -> ServiceInstance {
    try ServiceInstance(service: service, id: id, address: "10.0.0.7", port: port, zone: "a", metadata: ["v": "1"])
}

@Suite("EmbeddedRegistry", .timeLimit(.minutes(1)))
struct EmbeddedRegistryTests {
    @Test("register, look up, renew, deregister; times come from the clock")
    func lifecycle() async throws {
        let clock = ManualClock(start: MonotonicInstant(nanoseconds: 1_700_000_000_000_000_000))
        let registry = EmbeddedRegistry(clock: clock, wallClock: clock)
        let stored = try await registry.register(try instance("p1"), ttl: .seconds(10))
        #expect(stored.registeredAt == 1_700_000_000_000 && stored.renewedAt == 1_700_000_000_000)
        clock.advance(by: .seconds(4))
        #expect(try await registry.renew(service: "payments", id: "p1"))
        #expect(try await !registry.renew(service: "payments", id: "nobody"))
        let snapshot = try await registry.lookup("payments")
        let renewed = try #require(snapshot.instances.first)
        #expect(renewed.registeredAt == 1_700_000_000_000 && renewed.renewedAt == 1_700_000_004_000)
        #expect(snapshot.instances.map(\.id) == ["p1"])
        #expect(snapshot.index == 1)
        #expect(
            try await registry.services() == [
                ServiceSummary(service: "payments", index: 1, passing: 1, warning: 0, critical: 0)
            ])
        #expect(try await registry.deregister(service: "payments", id: "p1"))
        #expect(try await !registry.deregister(service: "payments", id: "p1"))
        let empty = try await registry.lookup("payments")
        #expect(empty.instances.isEmpty && empty.index == 2)
        #expect(try await registry.services().isEmpty)
    }

    @Test(
        "watchers get the current snapshot, then one per real change; renewals and identical registrations are not changes"
    )
    func watchers() async throws {
        let clock = ManualClock()
        let registry = EmbeddedRegistry(clock: clock, wallClock: clock)
        let stream = registry.subscribe("payments")
        var iterator = stream.makeAsyncIterator()
        #expect(await iterator.next()?.index == 0)
        _ = try await registry.register(try instance("p1"), ttl: .seconds(10))
        let first = try #require(await iterator.next())
        #expect(first.instances.map(\.id) == ["p1"])
        clock.advance(by: .seconds(1))
        _ = try await registry.renew(service: "payments", id: "p1")
        _ = try await registry.register(try instance("p1"), ttl: .seconds(10))  // the same again
        _ = try await registry.setHealth(.passing, service: "payments", id: "p1")  // unchanged
        _ = try await registry.register(try instance("p1", port: 9090), ttl: .seconds(10))
        let moved = try #require(await iterator.next())
        #expect(moved.index > first.index)
        #expect(moved.instances.first?.port == 9090)
        _ = try await registry.setHealth(.critical, service: "payments", id: "p1")
        let critical = try #require(await iterator.next())
        #expect(critical.index > moved.index && critical.healthy.isEmpty)
        _ = try await registry.register(try instance("other", service: "search"), ttl: .seconds(10))  // another service
        _ = try await registry.deregister(service: "payments", id: "p1")
        let gone = try #require(await iterator.next())
        #expect(gone.index > critical.index && gone.instances.isEmpty)
    }

    @Test("an instance not renewed is swept within its TTL plus the sweep interval, and watchers hear it")
    func expiry() async throws {
        let clock = ManualClock()
        let registry = EmbeddedRegistry(clock: clock, wallClock: clock)
        let sweeper = Task { try await registry.run() }
        _ = try await registry.register(try instance("p1"), ttl: .seconds(5))
        _ = try await registry.register(try instance("p2"), ttl: .seconds(30))
        let stream = registry.subscribe("payments")
        var iterator = stream.makeAsyncIterator()
        #expect(await iterator.next()?.instances.count == 2)
        await settle { clock.sleeperCount == 1 }
        clock.advance(by: .milliseconds(4900))
        await settle { clock.sleeperCount == 1 }
        #expect(try await registry.lookup("payments").instances.count == 2)
        clock.advance(by: .milliseconds(100))  // p1's TTL is up: the sweeper wakes at that instant
        let swept = try #require(await iterator.next())
        #expect(swept.instances.map(\.id) == ["p2"])
        sweeper.cancel()
        try await sweeper.value
        #expect(registry.watcherCount("payments") == 0)  // finished on shutdown
    }

    @Test("a blocking query returns on a change, or with the same index when the wait ends")
    func blockingQuery() async throws {
        let clock = ManualClock()
        let registry = EmbeddedRegistry(clock: clock, wallClock: clock)
        _ = try await registry.register(try instance("p1"), ttl: .seconds(60))
        let index = try await registry.lookup("payments").index
        let waiting = Task { try await registry.lookup("payments", after: index, wait: .seconds(30), clock: clock) }
        await settle { registry.watcherCount("payments") == 1 && clock.sleeperCount == 1 }
        _ = try await registry.register(try instance("p2"), ttl: .seconds(60))
        let changed = try await waiting.value
        #expect(changed.index > index && changed.instances.count == 2)
        let timingOut = Task {
            try await registry.lookup("payments", after: changed.index, wait: .seconds(30), clock: clock)
        }
        await settle { registry.watcherCount("payments") == 1 && clock.sleeperCount == 1 }
        clock.advance(by: .seconds(30))
        let unchanged = try await timingOut.value
        #expect(unchanged.index == changed.index)
        await settle { registry.watcherCount("payments") == 0 }
        #expect(registry.watcherCount("payments") == 0)
    }

    @Test("bad registrations are refused with the field named, and change nothing")
    func validation() async throws {
        let registry = EmbeddedRegistry(clock: ManualClock())
        #expect(caught(DiscoveryError.self) { _ = try instance("p1", port: 0) }?.field == "port")
        #expect(caught(DiscoveryError.self) { _ = try instance("bad id!") }?.field == "id")
        #expect(caught(DiscoveryError.self) { _ = try instance("p1", service: "") }?.field == "service")
        let tooLong = await caught(DiscoveryError.self) {
            _ = try await registry.register(try instance("p1"), ttl: .seconds(7200))
        }
        #expect(tooLong?.field == "ttl")
        #expect(tooLong?.message == "ttl must be between 1s and 1h, not 7200.0 seconds")
        #expect(try await registry.lookup("payments").instances.isEmpty)
    }

    @Test("a Registration renews while it runs, registers again if forgotten, and deregisters when stopped")
    func registration() async throws {
        let clock = ManualClock()
        let registry = EmbeddedRegistry(clock: clock, wallClock: clock)
        let registration = Registration(
            registry: registry, instance: try instance("p1"), ttl: .seconds(3), clock: clock)
        let running = Task { try await registration.run() }
        await settle { clock.sleeperCount == 1 }
        for _ in 0..<9 {  // 9 s, three TTLs, in renewal steps
            clock.advance(by: .seconds(1))
            await settle { clock.sleeperDeadlines == [clock.now() + .seconds(1)] }
        }
        #expect(try await registry.lookup("payments").instances.map(\.id) == ["p1"])
        _ = try await registry.deregister(service: "payments", id: "p1")  // the registry forgets it
        clock.advance(by: .seconds(1))
        await settle { clock.sleeperDeadlines == [clock.now() + .seconds(1)] }
        #expect(try await registry.lookup("payments").instances.map(\.id) == ["p1"])
        running.cancel()
        try await running.value
        #expect(try await registry.lookup("payments").instances.isEmpty)
    }
}
