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

    @Test("subscribe: changes arrive as the reader asks; the server gone, the last snapshot comes stale; cancelling the reader ends it")
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
}
