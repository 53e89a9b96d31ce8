import AsyncHTTPClient
import Foundation
import InMemoryTracing
import MetricsTestKit
import NIOCore
import NIOHTTP1
import ShoalClient
import ShoalCore
import ShoalDiscovery
import ShoalRedis
import ShoalTesting
import Synchronization
import Testing

@Suite("ServiceClient: calls by service name to sample services in child processes", .serialized)
struct ServiceClientTests {
    /// Sample services registered as `service` in an embedded registry.
    static func registry(_ service: String, _ instances: [SampleServiceProcess]) async throws -> EmbeddedRegistry {
        let registry = EmbeddedRegistry()
        for instance in instances {
            _ = try await registry.register(
                try ServiceInstance(service: service, id: instance.name, address: "127.0.0.1", port: instance.port),
                ttl: .seconds(300))
        }
        return registry
    }

    /// A GET and the instance that answered it (`nil` when the call failed).
    static func backend(_ client: ServiceClient, _ service: String, options: ServiceClient.CallOptions? = nil) async
        -> String?
    {
        guard let response = try? await client.get(service: service, "/", options: options), response.status == .ok,
            (try? await response.body.collect(upTo: 1 << 16)) != nil
        else { return nil }
        return response.headers.first(name: "x-backend")
    }

    @Test("one of three instances killed with kill -9 under load: zero failed calls")
    func instanceKilled() async throws {
        let instances = [
            try await SampleServiceProcess(name: "a"), try await SampleServiceProcess(name: "b"),
            try await SampleServiceProcess(name: "c"),
        ]
        defer { for instance in instances { instance.stop() } }
        let client = ServiceClient(discovery: try await Self.registry("callee", instances))
        let all = Tally()
        let afterKill = Tally()
        let killed = Tally()
        // The kill comes after a second and 40 calls; the run lasts 3 s and 80 calls after it
        // (at most 60 s): on a loaded machine, calls are counted, not just time.
        let start = ContinuousClock.now
        let giveUp = start + .seconds(60)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    while ContinuousClock.now < giveUp,
                        killed.total == 0 || ContinuousClock.now < start + .seconds(3) || afterKill.total < 80
                    {
                        let backend = await Self.backend(client, "callee") ?? "failed"
                        all.add(backend)
                        if killed.total > 0 { afterKill.add(backend) }
                    }
                }
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(1))
                while all.total < 40, ContinuousClock.now < giveUp { try? await Task.sleep(for: .milliseconds(20)) }
                instances[1].kill()
                killed.add("b")
            }
        }
        await client.shutdown()
        let shares = afterKill.counts
        #expect(all.counts["failed"] == nil, "of \(all.total) calls: \(all.counts)")
        #expect(afterKill.total >= 80, "\(afterKill.total) calls after the kill")
        // Answers after the kill come from the two that live (a call in flight to b at the
        // kill may still have been answered by it).
        #expect((shares["b"] ?? 0) <= 8, "\(shares)")
        #expect((shares["a"] ?? 0) > 0 && (shares["c"] ?? 0) > 0, "\(shares)")
    }

    @Test("an instance 10× slower than the others gets few calls with the default strategy")
    func slowInstance() async throws {
        // Latencies well above a busy machine's scheduling delays, which add to every call
        // and would narrow a 2 ms against 20 ms gap.
        let instances = [
            try await SampleServiceProcess(name: "fast1", latency: "5ms"),
            try await SampleServiceProcess(name: "fast2", latency: "5ms"),
            try await SampleServiceProcess(name: "slow", latency: "50ms"),
        ]
        defer { for instance in instances { instance.stop() } }
        let client = ServiceClient(discovery: try await Self.registry("callee", instances))
        let shares = Tally()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    for _ in 0..<150 {
                        shares.add(await Self.backend(client, "callee") ?? "failed")
                    }
                }
            }
        }
        await client.shutdown()
        let counts = shares.counts
        let slowShare = Double(counts["slow"] ?? 0) / 600
        #expect(counts["failed"] == nil, "\(counts)")
        #expect(slowShare < 0.15, "the slow instance got \(counts["slow"] ?? 0) of 600 calls: \(counts)")
    }

    @Test("hedging: a try that has not answered after the p50 gets a second try elsewhere, and the first answer wins")
    func hedging() async throws {
        let instances = [
            try await SampleServiceProcess(name: "fast1", latency: "1ms"),
            try await SampleServiceProcess(name: "fast2", latency: "1ms"),
            try await SampleServiceProcess(name: "stuck", latency: "800ms"),
        ]
        defer { for instance in instances { instance.stop() } }
        let client = ServiceClient(
            discovery: try await Self.registry("callee", instances),
            configuration: .init(strategy: .roundRobin))
        let hedged = ServiceClient.CallOptions(
            hedging: ServiceClient.Hedging(percentile: 0.5, minimumDelay: .milliseconds(5), minimumSamples: 6))
        // Round robin sends every third call to the stuck instance: hedges answer them.
        var slowest = Duration.zero
        var answeredBy: [String: Int] = [:]
        for _ in 0..<30 {
            let started = ContinuousClock.now
            let backend = await Self.backend(client, "callee", options: hedged) ?? "failed"
            answeredBy[backend, default: 0] += 1
            slowest = max(slowest, ContinuousClock.now - started)
        }
        // The first calls come before enough answers to hedge on: leave them out.
        var late = Duration.zero
        for _ in 0..<15 {
            let started = ContinuousClock.now
            _ = await Self.backend(client, "callee", options: hedged)
            late = max(late, ContinuousClock.now - started)
        }
        await client.shutdown()
        #expect(answeredBy["failed"] == nil, "\(answeredBy)")
        #expect(late < .milliseconds(400), "slowest hedged call after warm-up: \(late)")
        #expect(slowest >= .milliseconds(700), "without enough samples the stuck instance answered slowly")
    }

    @Test("typed errors: no instances, every try refused, timeout; a POST is not retried")
    func errors() async throws {
        let live = try await SampleServiceProcess(name: "live", latency: "300ms")
        defer { live.stop() }
        let registry = EmbeddedRegistry()
        for (id, port) in [("dead1", try RedisServer.freePort()), ("dead2", try RedisServer.freePort())] {
            _ = try await registry.register(
                try ServiceInstance(service: "dead", id: id, address: "127.0.0.1", port: port), ttl: .seconds(300))
        }
        _ = try await registry.register(
            try ServiceInstance(service: "slow", id: "live", address: "127.0.0.1", port: live.port), ttl: .seconds(300))
        let client = ServiceClient(discovery: registry)
        defer { Task { await client.shutdown() } }

        await #expect {
            _ = try await client.get(service: "nobody", "/")
        } throws: { error in
            guard case .noInstances(let service) = error as? ServiceCallError else { return false }
            return service == "nobody"
        }
        await #expect {
            _ = try await client.get(service: "dead", "/")
        } throws: { error in
            guard case .allAttemptsFailed(let service, let attempts) = error as? ServiceCallError else { return false }
            return service == "dead" && Set(attempts.map(\.instance)).count == 2
        }
        await #expect {
            _ = try await client.post(service: "dead", "/", body: ByteBuffer(string: "x"))
        } throws: { error in
            guard case .allAttemptsFailed(_, let attempts) = error as? ServiceCallError else { return false }
            return attempts.count == 1
        }
        await #expect {
            _ = try await client.get(
                service: "slow", "/",
                options: .init(perTryTimeout: .milliseconds(100), timeout: .seconds(5), retries: 0))
        } throws: { error in
            guard case .timeout(let service, _, let attempts) = error as? ServiceCallError else { return false }
            return service == "slow" && attempts.count == 1
        }
        await #expect {
            _ = try await client.get(service: "slow", "http://elsewhere/")
        } throws: { error in
            guard case .invalidRequest = error as? ServiceCallError else { return false }
            return true
        }
    }

    @Test("each call is a client span; the instance gets its context")
    func tracing() async throws {
        let instance = try await SampleServiceProcess(name: "traced")
        defer { instance.stop() }
        let tracer = InMemoryTracer()
        let client = ServiceClient(discovery: try await Self.registry("traced", [instance]), tracer: tracer)
        let response = try await client.get(service: "traced", "/echo")
        let body = try await response.body.collect(upTo: 1 << 16)
        await client.shutdown()
        let span = try #require(tracer.finishedSpans.first)
        #expect(tracer.finishedSpans.count == 1)
        #expect(span.kind == .client)
        #expect(span.attributes["shoal.service"]?.toSpanAttribute() == "traced")
        #expect(span.attributes["http.response.status_code"]?.toSpanAttribute() == .int64(200))
        #expect(String(buffer: body).contains(#"["in-memory-span-id","\#(span.spanID)"]"#), "\(String(buffer: body))")
    }

    @Test("metrics by service and instance: answers by status, failed tries, retries, call durations")
    func metrics() async throws {
        let live = try await SampleServiceProcess(name: "live")
        defer { live.stop() }
        let registry = EmbeddedRegistry()
        let deadPort = try RedisServer.freePort()
        _ = try await registry.register(
            try ServiceInstance(service: "mixed", id: "dead", address: "127.0.0.1", port: deadPort), ttl: .seconds(300))
        _ = try await registry.register(
            try ServiceInstance(service: "mixed", id: "live", address: "127.0.0.1", port: live.port), ttl: .seconds(300)
        )
        let metrics = TestMetrics()
        let client = ServiceClient(
            discovery: registry, configuration: .init(strategy: .roundRobin), metricsFactory: metrics)
        for _ in 0..<10 { #expect(await Self.backend(client, "mixed") == "live") }
        await client.shutdown()
        let live200 = try metrics.expectCounter(
            "shoal_client_requests_total",
            [("service", "mixed"), ("instance", "127.0.0.1:\(live.port)"), ("status", "200")])
        #expect(live200.totalValue == 10)
        let deadErrors = try metrics.expectCounter(
            "shoal_client_requests_total",
            [("service", "mixed"), ("instance", "127.0.0.1:\(deadPort)"), ("status", "error")])
        #expect(deadErrors.totalValue >= 1)
        let retries = try metrics.expectCounter("shoal_client_retries_total", [("service", "mixed")])
        #expect(retries.totalValue == deadErrors.totalValue)
        #expect(
            try metrics.expectTimer("shoal_client_call_duration_seconds", [("service", "mixed")]).values.count == 10)
        let answers = try metrics.expectTimer(
            "shoal_client_answer_duration_seconds", [("service", "mixed"), ("instance", "127.0.0.1:\(live.port)")])
        #expect(answers.values.count == 10)
    }

    @Test("over a RedisRegistry: follows instances that another process (shoal serve --redis) registers and removes")
    func followsRedisRegistry() async throws {
        let redis = try RedisServer.start()
        let serve = try await ServeProcess(["--redis", redis.url])
        defer { serve.stop() }
        let a = try await SampleServiceProcess(name: "a")
        let b = try await SampleServiceProcess(name: "b")
        defer {
            a.stop()
            b.stop()
        }
        try await serve.register("callee", a)
        let registry = RedisRegistry(configuration: redis.configuration)
        let running = Task { try await registry.run() }  // what serves its subscriptions
        let client = ServiceClient(discovery: registry, configuration: .init(strategy: .roundRobin))
        let following = Task { try await client.run() }  // what follows the services called
        #expect(await Self.backend(client, "callee") == "a")
        try await serve.register("callee", b)
        #expect(await eventually(within: 5) { await Self.backend(client, "callee") == "b" })
        _ = try await serve.request("DELETE", "/v1/services/callee/instances/a")
        // Once the removal arrives, every call goes to b.
        #expect(
            await eventually(within: 5) {
                var seen: Set<String> = []
                for _ in 0..<6 { seen.insert(await Self.backend(client, "callee") ?? "failed") }
                return seen == ["b"]
            })
        following.cancel()
        try await following.value
        running.cancel()
        try await running.value
    }

    @Test("graceful shutdown ends the client: later calls fail with shutDown")
    func shutdown() async throws {
        let instance = try await SampleServiceProcess(name: "x")
        defer { instance.stop() }
        let client = ServiceClient(discovery: try await Self.registry("x", [instance]))
        #expect(await Self.backend(client, "x") == "x")
        await client.shutdown()
        await #expect {
            _ = try await client.get(service: "x", "/")
        } throws: { error in
            guard case .shutDown = error as? ServiceCallError else { return false }
            return true
        }
    }
}

/// Counts by name, from many tasks.
final class Tally: Sendable {
    private let state = Mutex<[String: Int]>([:])

    func add(_ name: String) {
        state.withLock { $0[name, default: 0] += 1 }
    }

    var counts: [String: Int] { state.withLock { $0 } }
    var total: Int { counts.values.reduce(0, +) }
}
