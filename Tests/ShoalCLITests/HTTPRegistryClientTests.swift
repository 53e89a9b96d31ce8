import Foundation
import ShoalClient
import ShoalDiscovery
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
}
