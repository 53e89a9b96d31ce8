import Foundation
import ShoalClient
import ShoalDiscovery
import ShoalTesting
import Synchronization
import Testing

@Suite("HTTPRegistryClient against a shoal serve child process")
struct HTTPRegistryClientTests {
    @Test("instances read back carry the server's times; setHealth changes the health alone")
    func timesAndHealth() async throws {
        let serve = try await ServeProcess()
        defer { serve.stop() }
        let client = HTTPRegistryClient(server: "http://127.0.0.1:\(serve.port)")
        let before = Int64((Date().timeIntervalSince1970 - 5) * 1000)
        let stored = try await client.register(
            try ServiceInstance(service: "web", id: "w1", address: "127.0.0.1", port: 9), ttl: .seconds(3600))
        #expect(stored.registeredAt > before && stored.renewedAt >= stored.registeredAt)

        try await Task.sleep(for: .milliseconds(20))
        #expect(try await client.setHealth(.warning, service: "web", id: "w1"))
        let found = try #require(try await client.lookup("web").instances.first)
        #expect(found.health == .warning)
        // Not registered again (which would have renewed it, 20 ms later).
        #expect(found.renewedAt == stored.renewedAt)
        #expect(try await client.renew(service: "web", id: "w1"))
        #expect(try await client.setHealth(.critical, service: "web", id: "nobody") == false)
        await client.shutdown()
    }

    @Test(
        "subscribe: changes arrive as the reader asks; the server gone, the last snapshot comes stale; cancelling the reader ends it"
    )
    func subscription() async throws {
        let serve = try await ServeProcess()
        defer { serve.stop() }
        let client = HTTPRegistryClient(server: "http://127.0.0.1:\(serve.port)")
        let seen = Mutex<[ServiceSnapshot]>([])
        let ended = Mutex(false)
        let stream = client.subscribe("web")
        let reader = Task {
            for await snapshot in stream { seen.withLock { $0.append(snapshot) } }
            ended.withLock { $0 = true }
        }
        #expect(await eventually { seen.withLock { $0.count } == 1 })
        _ = try await client.register(
            try ServiceInstance(service: "web", id: "w1", address: "127.0.0.1", port: 9), ttl: .seconds(3600))
        #expect(await eventually { seen.withLock { $0.last?.instances.map(\.id) } == ["w1"] })
        serve.shoal.process.signal(SIGKILL)
        #expect(await eventually(within: 10) { seen.withLock { $0.last?.isStale } == true })
        #expect(seen.withLock { $0.last?.instances.map(\.id) } == ["w1"])
        reader.cancel()
        #expect(await eventually(within: 3) { ended.withLock { $0 } }, "the stream did not end")
        await client.shutdown()
    }

    @Test("watch: the service comes once, then each change alone; subscribe's snapshots built from them match lookups")
    func watchReceivesChanges() async throws {
        let serve = try await ServeProcess()
        defer { serve.stop() }
        let client = HTTPRegistryClient(server: "http://127.0.0.1:\(serve.port)")
        func register(_ id: String, port: Int = 9) async throws {
            _ = try await client.register(
                try ServiceInstance(service: "web", id: id, address: "127.0.0.1", port: port), ttl: .seconds(3600))
        }
        for n in 0..<20 { try await register("w\(n)") }
        var events = client.watch("web").makeAsyncIterator()
        var snapshots = client.subscribe("web").makeAsyncIterator()
        guard case .snapshot(let first)? = await events.next() else {
            Issue.record("the first event is not a snapshot")
            return
        }
        #expect(first.instances.count == 20)
        #expect(await snapshots.next()?.instances.count == 20)

        try await register("new")
        guard case .change(let added)? = await events.next() else {
            Issue.record("expected a change")
            return
        }
        #expect(added.upserted.map(\.id) == ["new"] && added.removed.isEmpty && added.index == first.index + 1)
        #expect(try await client.deregister(service: "web", id: "w3"))
        try await register("w4", port: 10)
        var later: [ServiceChange] = []
        while later.flatMap(\.removed).count + later.flatMap(\.upserted).count < 2 {
            guard case .change(let change)? = await events.next() else { break }
            later.append(change)
        }
        #expect(later.flatMap(\.removed) == ["w3"] && later.flatMap(\.upserted).map(\.port) == [10])

        var built = try #require(await snapshots.next())
        while built.index < first.index + 3 { built = try #require(await snapshots.next()) }
        let looked = try await client.lookup("web")
        #expect(built.index == looked.index)
        #expect(built.instances.map(\.id) == looked.instances.map(\.id))
        #expect(built.instances.map(\.port) == looked.instances.map(\.port))
        await client.shutdown()
    }
}
