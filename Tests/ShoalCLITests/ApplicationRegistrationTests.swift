import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import ShoalCore
import ShoalDiscovery
import ShoalHummingbird
import ShoalTesting
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

@Suite("ApplicationRegistration in process, with a Hummingbird application on a real socket")
struct ApplicationRegistrationTests {
    @Test("the application sets its own health: warning in the registry and on /health, critical answers 503")
    func setsHealth() async throws {
        let registry = EmbeddedRegistry()
        let registration = try ApplicationRegistration(
            registry: registry, service: "app", ttl: .seconds(30), checkInterval: nil)
        let router = Router()
        registration.addHealthRoute(to: router)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: registration.serverRunning, logger: Logger(label: "test"))
        let group = ServiceGroup(
            services: [registry, app, registration], gracefulShutdownSignals: [], logger: Logger(label: "test"))
        let running = Task { try await group.run() }
        defer { running.cancel() }

        // Generous: CPU-bound tests elsewhere in the run can hold the shared threads for seconds.
        #expect(await eventually(within: 60) { (try? await registry.lookup("app").instances.count) == 1 })
        let port = try #require(registration.port)
        #expect(try await registry.lookup("app").instances.first?.port == port)
        #expect(try await Self.health(port) == (200, #"{"status":"passing"}"#))

        try await registration.setHealth(.warning)
        #expect(try await registry.lookup("app").instances.first?.health == .warning)
        #expect(try await Self.health(port) == (200, #"{"status":"warning"}"#))

        try await registration.setHealth(.critical)
        #expect(try await registry.lookup("app").instances.first?.health == .critical)
        #expect(try await registry.lookup("app").healthy.isEmpty)
        #expect(try await Self.health(port) == (503, #"{"status":"critical"}"#))

        await group.triggerGracefulShutdown()
        try await running.value
        #expect(try await registry.lookup("app").instances.isEmpty)
    }

    static func health(_ port: Int) async throws -> (Int, String) {
        let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/health")!)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }
}
