import PropertyBased
import ShoalCore
import ShoalDiscovery
import ShoalTesting
import Testing

@Suite("EmbeddedRegistry: changes", .timeLimit(.minutes(1)))
struct EmbeddedRegistryChangesTests {
    @Test("a watch gets the service once, then only what changed")
    func watchSendsChanges() async throws {
        let clock = ManualClock()
        let registry = EmbeddedRegistry(clock: clock, wallClock: clock)
        for id in ["p1", "p2", "p3"] { _ = try await registry.register(try instance(id), ttl: .seconds(10)) }
        var events = registry.watch("payments").makeAsyncIterator()
        guard case .snapshot(let first)? = await events.next() else {
            Issue.record("the first event is not a snapshot")
            return
        }
        #expect(first.instances.map(\.id) == ["p1", "p2", "p3"] && first.index == 3)

        _ = try await registry.register(try instance("p4"), ttl: .seconds(10))
        let p4 = try await registry.stored("p4")
        #expect(await events.next() == .change(change(4, upserted: [p4])))
        _ = try await registry.renew(service: "payments", id: "p1")  // not a change
        _ = try await registry.setHealth(.critical, service: "payments", id: "p2")
        let p2 = try await registry.stored("p2")
        #expect(p2.health == .critical)
        #expect(await events.next() == .change(change(5, upserted: [p2])))
        _ = try await registry.deregister(service: "payments", id: "p3")
        #expect(await events.next() == .change(change(6, removed: ["p3"])))
    }

    @Test("a watcher that reads late gets one merged change, or the service once it fell too far behind")
    func slowWatcher() async throws {
        let registry = EmbeddedRegistry()
        var events = registry.watch("payments").makeAsyncIterator()
        #expect(await events.next()?.index == 0)
        _ = try await registry.register(try instance("p1"), ttl: .seconds(10))
        _ = try await registry.register(try instance("p2"), ttl: .seconds(10))
        _ = try await registry.deregister(service: "payments", id: "p1")
        _ = try await registry.register(try instance("p2", port: 9000), ttl: .seconds(10))
        guard case .change(let merged)? = await events.next() else {
            Issue.record("expected one merged change")
            return
        }
        #expect(merged.index == 4 && merged.removed == ["p1"] && merged.upserted.map(\.port) == [9000])

        for id in 0...1024 { _ = try await registry.register(try instance("bulk\(id)"), ttl: .seconds(10)) }
        guard case .snapshot(let fresh)? = await events.next() else {
            Issue.record("a watcher 1,025 instances behind must get the service again")
            return
        }
        #expect(fresh == (try await registry.lookup("payments")))
    }

    @Test("snapshots built from changes equal lookups, whatever the operations")
    func subscriptionMatchesLookups() async {
        await propertyCheck(count: 40, input: Gen.uint64()) { seed in
            await recordingThrows {
                let clock = ManualClock()
                let registry = EmbeddedRegistry(clock: clock, wallClock: clock)
                var snapshots = registry.subscribe("payments").makeAsyncIterator()
                _ = await snapshots.next()
                var generator = SplitMix64(seed: seed)
                for _ in 0..<30 {
                    let id = "i\(generator.next() % 6)"
                    let changed: Bool
                    switch generator.next() % 5 {
                    case 0, 1:
                        let before = try await registry.lookup("payments")
                        let stored = try await registry.register(
                            try instance(id, port: 8000 + Int(generator.next() % 2)), ttl: .seconds(5))
                        changed = !before.instances.contains { $0.id == id && $0.port == stored.port }
                    case 2:
                        changed = try await registry.deregister(service: "payments", id: id)
                    case 3:
                        let health: HealthStatus = generator.next() % 2 == 0 ? .passing : .critical
                        let before = try await registry.lookup("payments").instances.first { $0.id == id }
                        _ = try await registry.setHealth(health, service: "payments", id: id)
                        changed = before.map { $0.health != health } ?? false
                    default:
                        let before = try await registry.lookup("payments").instances.count
                        clock.advance(by: .seconds(2))  // some expire; the lookup sweeps them
                        changed = try await registry.lookup("payments").instances.count != before
                    }
                    guard changed else { continue }
                    let built = try #require(await snapshots.next())
                    let looked = try await registry.lookup("payments")
                    #expect(built.index == looked.index)
                    #expect(built.instances.map(\.id) == looked.instances.map(\.id))
                    #expect(
                        zip(built.instances, looked.instances).allSatisfy {
                            $0.port == $1.port && $0.health == $1.health
                        })
                }
            }
        }
    }

    @Test("changes since an index come from the log; a blocking one waits; past the log comes the service")
    func changesSinceAnIndex() async throws {
        let clock = ManualClock()
        let registry = EmbeddedRegistry(clock: clock, wallClock: clock)
        _ = try await registry.register(try instance("p1"), ttl: .seconds(60))
        _ = try await registry.register(try instance("p2"), ttl: .seconds(60))
        _ = try await registry.deregister(service: "payments", id: "p1")
        let logged = try await registry.changes("payments", after: 1, wait: .seconds(30), clock: clock)
        let p2 = try await registry.stored("p2")
        #expect(logged == .change(change(3, upserted: [p2], removed: ["p1"])))

        let waiting = Task { try await registry.changes("payments", after: 3, wait: .seconds(30), clock: clock) }
        await settle { registry.watcherCount("payments") == 1 && clock.sleeperCount == 1 }
        _ = try await registry.register(try instance("p3"), ttl: .seconds(60))
        let p3 = try await registry.stored("p3")
        #expect(try await waiting.value == .change(change(4, upserted: [p3])))

        let timingOut = Task { try await registry.changes("payments", after: 4, wait: .seconds(30), clock: clock) }
        await settle { registry.watcherCount("payments") == 1 && clock.sleeperCount == 1 }
        clock.advance(by: .seconds(30))
        #expect(try await timingOut.value == .change(change(4)))

        for id in 0..<1100 { _ = try await registry.register(try instance("bulk\(id)"), ttl: .seconds(60)) }
        let whole = try await registry.changes("payments", after: 4, wait: .seconds(30), clock: clock)
        #expect(whole == .snapshot(try await registry.lookup("payments")))
        let ahead = try await registry.changes("payments", after: 1_000_000, wait: .seconds(30), clock: clock)
        #expect(ahead == .snapshot(try await registry.lookup("payments")), "an index from elsewhere")
    }

    private func change(_ index: UInt64, upserted: [ServiceInstance] = [], removed: [String] = []) -> ServiceChange {
        ServiceChange(service: "payments", index: index, upserted: upserted, removed: removed)
    }
}

extension EmbeddedRegistry {
    /// The instance of `payments` as the registry holds it now.
    func stored(_ id: String) async throws -> ServiceInstance {
        try #require(await lookup("payments").instances.first { $0.id == id })
    }
}
