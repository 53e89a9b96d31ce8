import ShoalCore
import ShoalDiscovery
import ShoalTesting
import Testing

@Suite("Health checks")
struct HealthCheckTests {
    @Test("fall failures in a row make an instance critical; rise successes make it passing again")
    func counting() {
        var counter = HealthCounter(fall: 3, rise: 2)
        #expect(counter.record(passed: false) == nil)
        #expect(counter.record(passed: false) == nil)
        #expect(counter.record(passed: true) == nil)  // the run of failures is broken
        #expect(counter.record(passed: false) == nil)
        #expect(counter.record(passed: false) == nil)
        #expect(counter.record(passed: false) == .critical)
        #expect(counter.record(passed: false) == nil)  // already critical
        #expect(counter.record(passed: true) == nil)
        #expect(counter.record(passed: true) == .passing)
        #expect(counter.status == .passing)
    }

    @Test("bad check settings are refused with the field named")
    func validation() {
        #expect(caught(DiscoveryError.self) { _ = try HealthCheck(.http(path: "health")) }?.field == "check.http")
        #expect(
            caught(DiscoveryError.self) { _ = try HealthCheck(.tcp, timeout: .seconds(120)) }?.field == "check.timeout")
        #expect(caught(DiscoveryError.self) { _ = try HealthCheck(.tcp, fall: 0) }?.field == "check.fall")
    }

    @Test("a checked instance turns critical when its server dies and passing when it is back; watchers see both")
    func checker() async throws {
        let server = try HTTPTestServer.start()
        let registry = EmbeddedRegistry()
        let instance = try ServiceInstance(service: "web", id: "w1", address: "127.0.0.1", port: server.port)
        _ = try await registry.register(instance, ttl: .seconds(60))
        let checker = HealthChecker(registry: registry)
        let running = Task { try await checker.run() }
        checker.check(
            instance,
            with: try HealthCheck(
                .http(path: "/"), interval: .milliseconds(50), timeout: .milliseconds(500), fall: 2, rise: 2))
        let stream = registry.subscribe("web")
        var iterator = stream.makeAsyncIterator()
        #expect(await iterator.next()?.instances.first?.health == .passing)
        server.kill()
        #expect(await iterator.next()?.instances.first?.health == .critical)
        try server.restart()
        #expect(await iterator.next()?.instances.first?.health == .passing)
        #expect(checker.checkCount == 1)
        running.cancel()
        try await running.value
        #expect(checker.checkCount == 0)
    }

    @Test("after run() ends no check goes on: a server that dies then changes nothing")
    func nothingAfterRun() async throws {
        let server = try HTTPTestServer.start()
        let registry = EmbeddedRegistry()
        let instance = try ServiceInstance(service: "web", id: "w1", address: "127.0.0.1", port: server.port)
        _ = try await registry.register(instance, ttl: .seconds(60))
        _ = try await registry.setHealth(.critical, service: "web", id: "w1")
        var started = instance
        started.health = .critical
        let checker = HealthChecker(registry: registry)
        checker.check(  // asked for before run(): it starts when run() does
            started,
            with: try HealthCheck(.tcp, interval: .milliseconds(20), timeout: .milliseconds(500), fall: 1, rise: 1))
        let running = Task { try await checker.run() }
        #expect(
            try await eventually(within: 5) { try await registry.lookup("web").instances.first?.health == .passing })
        running.cancel()
        try await running.value
        #expect(checker.checkCount == 0)
        checker.check(started, with: try HealthCheck(.tcp, interval: .milliseconds(20)))
        #expect(checker.checkCount == 0)  // after run(): nothing would run it, so nothing is taken
        server.kill()
        try await Task.sleep(for: .milliseconds(500))  // 25 intervals: a check left running would see it
        #expect(try await registry.lookup("web").instances.first?.health == .passing)
    }

    @Test("an HTTP check passes only on 2xx; a TCP check only when the port accepts")
    func probes() async throws {
        let server = try HTTPTestServer.start()
        let registry = EmbeddedRegistry()
        let checker = HealthChecker(registry: registry)
        let running = Task { try await checker.run() }
        let cases: [(HealthCheck.Probe, Int, HealthStatus)] = [
            (.http(path: "/missing"), server.port, .critical),  // 404
            (.tcp, server.port, .passing),
            (.tcp, try RedisServer.freePort(), .critical),  // nothing listens
        ]
        for (index, (probe, port, expected)) in cases.enumerated() {
            let instance = try ServiceInstance(service: "probe\(index)", id: "i", address: "127.0.0.1", port: port)
            _ = try await registry.register(instance, ttl: .seconds(60))
            // Start critical for a probe expected to pass, so the test sees the change.
            _ = try await registry.setHealth(
                expected == .passing ? .critical : .passing, service: instance.service, id: "i")
            var started = instance
            started.health = expected == .passing ? .critical : .passing
            checker.check(
                started,
                with: try HealthCheck(probe, interval: .milliseconds(20), timeout: .milliseconds(500), fall: 1, rise: 1)
            )
            var iterator = registry.subscribe(instance.service).makeAsyncIterator()
            var health = await iterator.next()?.instances.first?.health
            if health != expected { health = await iterator.next()?.instances.first?.health }
            #expect(health == expected, "probe \(probe)")
            checker.stopChecking(service: instance.service, id: "i")
        }
        #expect(checker.checkCount == 0)
        running.cancel()
        try await running.value
    }
}
