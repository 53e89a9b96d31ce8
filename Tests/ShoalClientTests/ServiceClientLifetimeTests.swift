import ShoalDiscovery
import ShoalTesting
import Synchronization
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

/// Lookups that wait at a gate until the test opens it (or their caller is cancelled), in
/// front of a real embedded registry: to see who looks a service up, and when.
private final class GatedDiscovery: ServiceDiscovery {
    let registry = EmbeddedRegistry()
    let lookups = Mutex(0)
    let open = Mutex(false)

    func lookup(_ service: String) async throws -> ServiceSnapshot {
        lookups.withLock { $0 += 1 }
        while !open.withLock({ $0 }) {
            try await Task.sleep(for: .milliseconds(5))
        }
        return try await registry.lookup(service)
    }

    func services() async throws -> [ServiceSummary] { try await registry.services() }
    func subscribe(_ service: String) -> AsyncStream<ServiceSnapshot> { registry.subscribe(service) }
}

@Suite("ServiceClient's first lookup of a service: made by a caller, shared with those that come meanwhile")
struct ServiceClientFirstLookupTests {
    @Test("the caller making the lookup gives up: a waiting caller makes it again and gets its answer")
    func takeOver() async throws {
        let discovery = GatedDiscovery()
        let client = ServiceClient(discovery: discovery)
        let first = Task { try await client.get(service: "orders", "/") }
        #expect(await eventually { discovery.lookups.withLock { $0 } == 1 })
        let second = Task { try await client.get(service: "orders", "/") }
        try await Task.sleep(for: .milliseconds(50))
        #expect(discovery.lookups.withLock { $0 } == 1)  // the second waits for the first's lookup
        first.cancel()
        #expect(await eventually { discovery.lookups.withLock { $0 } == 2 })  // the second took over
        discovery.open.withLock { $0 = true }
        let error = await caught(ServiceCallError.self) { _ = try await second.value }
        // It got the balancer, which has no instance.
        #expect(error.map { if case .noInstances = $0 { true } else { false } } == true, "\(String(describing: error))")
        await #expect(throws: CancellationError.self) { _ = try await first.value }
        await client.shutdown()
    }

    @Test("a caller waiting for the first lookup when the client shuts down gets shutDown")
    func shutDownWhileWaiting() async throws {
        let discovery = GatedDiscovery()
        let client = ServiceClient(discovery: discovery)
        let first = Task { try await client.get(service: "orders", "/") }
        #expect(await eventually { discovery.lookups.withLock { $0 } == 1 })
        let second = Task { try await client.get(service: "orders", "/") }
        try await Task.sleep(for: .milliseconds(50))
        await client.shutdown()
        let error = await caught(ServiceCallError.self) { _ = try await second.value }
        #expect(error.map { if case .shutDown = $0 { true } else { false } } == true, "\(String(describing: error))")
        first.cancel()
        _ = await first.result
    }
}
