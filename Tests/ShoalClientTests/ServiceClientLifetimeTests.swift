import ShoalDiscovery
import ShoalTesting
import Testing

@testable import ShoalClient

@Suite("ServiceClient's lifetime: following services belongs to run()")
struct ServiceClientLifetimeTests {
    @Test("run() follows each service called, and leaves no subscription behind when it ends")
    func followsInRun() async throws {
        let registry = EmbeddedRegistry()
        let client = ServiceClient(discovery: registry)
        let running = Task { try await client.run() }
        // No instance: the call fails, but the service is followed from now on.
        await #expect(throws: ServiceCallError.self) { _ = try await client.get(service: "orders", "/") }
        #expect(await eventually { registry.watcherCount("orders") == 1 })
        running.cancel()
        try await running.value
        #expect(await eventually { registry.watcherCount("orders") == 0 })
        await #expect(throws: ServiceCallError.self) { _ = try await client.get(service: "orders", "/") }
    }
}
