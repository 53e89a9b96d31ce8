import ShoalCore
import ShoalDiscovery
import ShoalRedis
import ShoalTesting
import Testing

/// A Redis that comes back without the registry's data: what watchers see, and how the
/// registrations come back.
@Suite("The registry when Redis loses its data", .serialized, .timeLimit(.minutes(1)))
struct RegistryAfterDataLossTests {
    private func instance(_ id: String) throws -> ServiceInstance {
        try ServiceInstance(service: "payments", id: id, address: "10.0.0.7", port: 8000)
    }

    @Test(
        "Redis restarted empty: watchers keep the instances they knew for a TTL; one that does not come back then goes")
    func watchersKeepInstances() async throws {
        let redis = try RedisServer.start()
        let a = redisRegistry(redis)
        let b = redisRegistry(redis)
        let sweeping = Task { try await b.run() }
        // A 4 s TTL: p1 must be registered again (1.2 s after the restart, plus the restart and
        // the reconnection, slower on a loaded machine) before the view's TTL from the loss ends.
        _ = try await a.register(try instance("p1"), ttl: .seconds(4))
        _ = try await a.register(try instance("p2"), ttl: .seconds(4))
        let seen = Shared<[[String]]>([])
        let watching = Task {
            for await snapshot in b.subscribe("payments") { seen.update { $0.append(snapshot.instances.map(\.id)) } }
        }
        #expect(try await eventually { try await b.lookup("payments").instances.count == 2 })
        try await Task.sleep(for: .milliseconds(300))
        try redis.restart()
        try await Task.sleep(for: .milliseconds(1200))
        _ = try await a.register(try instance("p1"), ttl: .seconds(10))  // p1 comes back; p2 never does
        // p2 goes from the watcher's view once its TTL from the loss has passed: polled for,
        // as a loaded machine may be late.
        #expect(await eventually(within: 15) { seen.value.last == ["p1"] }, "\(seen.value)")
        watching.cancel()
        _ = await watching.value
        let views = seen.value
        let afterFirst = views.drop { $0 != ["p1", "p2"] }
        #expect(!afterFirst.isEmpty, "\(views)")
        #expect(!afterFirst.contains([]), "a watcher saw the service empty: \(views)")
        #expect(afterFirst.last == ["p1"], "\(views)")
        sweeping.cancel()
        _ = await sweeping.result
        await a.close()
    }

    @Test("through a ReassertingRegistry, a renewal puts back what Redis lost, and so does run() without one")
    func reasserted() async throws {
        let redis = try RedisServer.start()
        let registry = ReassertingRegistry(redisRegistry(redis), interval: .milliseconds(200))
        _ = try await registry.register(try instance("p1"), ttl: .seconds(5))
        _ = try await registry.setHealth(.warning, service: "payments", id: "p1")
        try redis.restart()
        #expect(try await registry.renew(service: "payments", id: "p1"))
        let back = try await registry.lookup("payments").instances
        #expect(back.map(\.id) == ["p1"] && back.first?.health == .warning)
        #expect(try await registry.renew(service: "payments", id: "unknown") == false)

        let running = Task { try await registry.run() }
        try redis.restart()
        #expect(try await eventually { try await registry.lookup("payments").instances.map(\.id) == ["p1"] })
        #expect(try await registry.deregister(service: "payments", id: "p1"))
        try redis.restart()
        try await Task.sleep(for: .milliseconds(600))
        #expect(try await registry.lookup("payments").instances.isEmpty, "a deregistered instance is not put back")
        running.cancel()
        _ = await running.result
    }
}
