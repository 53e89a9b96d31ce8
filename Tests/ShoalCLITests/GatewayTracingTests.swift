import Foundation
import InMemoryTracing
import Logging
import ServiceLifecycle
import ShoalCore
import ShoalDiscovery
import ShoalGateway
import ShoalTesting
import Testing
import Tracing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

@Suite("the gateway's request spans, with swift-distributed-tracing's in-memory tracer")
struct GatewayTracingTests {
    @Test("a routed request gets a server span that continues the client's trace and is the instance's parent")
    func spans() async throws {
        let backend = try await SampleServiceProcess(name: "traced")
        defer { backend.stop() }
        let registry = EmbeddedRegistry()
        _ = try await registry.register(
            try ServiceInstance(service: "traced", id: "a", address: "127.0.0.1", port: backend.port),
            ttl: .seconds(300))
        // Nothing listens on this port: every try is refused.
        _ = try await registry.register(
            try ServiceInstance(service: "dead", id: "a", address: "127.0.0.1", port: try RedisServer.freePort()),
            ttl: .seconds(300))
        let tracer = InMemoryTracer()
        let routes = try RouteTable([
            try GatewayRoute(prefix: "/t", service: "traced", stripPrefix: true),
            try GatewayRoute(prefix: "/dead", service: "dead"),
        ])
        let gateway = Gateway(
            configuration: try GatewayConfiguration(port: 0, threads: 1, routes: routes), discovery: registry,
            tracer: tracer)
        let group = ServiceGroup(
            services: [registry, gateway], gracefulShutdownSignals: [], logger: Logger(label: "test"))
        let serving = Task { try await group.run() }
        defer { serving.cancel() }
        let port = try await gateway.boundPort()
        // Both routes know their instance before the first request: under the whole suite's
        // load, a request sent the moment the gateway listened was now and then answered 503.
        #expect(await eventually(within: 10) { gateway.status.routes.allSatisfy { $0.instances.count == 1 } })

        // The client's trace: the span is its child, and the instance is the span's child.
        let traced = try await Self.get(
            port, "/t/echo",
            headers: [InMemoryTracer.traceIDKey: "client-trace", InMemoryTracer.spanIDKey: "client-span"])
        #expect(traced.status == 200)
        let span = try #require(await Self.finishedSpan(tracer))
        #expect(span.operationName == "GET /t")
        #expect(span.kind == .server)
        #expect(span.traceID == "client-trace")
        #expect(span.parentSpanID == "client-span")
        #expect(span.attributes["http.response.status_code"]?.toSpanAttribute() == .int64(200))
        #expect(span.attributes["http.route"]?.toSpanAttribute() == "/t")
        #expect(span.attributes["url.path"]?.toSpanAttribute() == "/t/echo")
        #expect(span.attributes["network.protocol.version"]?.toSpanAttribute() == "1.1")
        #expect(span.status == nil)
        #expect(span.events.map(\.name) == ["try"])
        #expect(traced.upstreamHeaders[InMemoryTracer.traceIDKey] == "client-trace")
        #expect(traced.upstreamHeaders[InMemoryTracer.spanIDKey] == span.spanID)

        // No trace from the client: the span starts one.
        let fresh = try await Self.get(port, "/t/echo")
        let root = try #require(await Self.finishedSpan(tracer))
        #expect(root.parentSpanID == nil)
        #expect(root.traceID != "client-trace")
        #expect(fresh.upstreamHeaders[InMemoryTracer.traceIDKey] == root.traceID)
        #expect(fresh.upstreamHeaders[InMemoryTracer.spanIDKey] == root.spanID)

        // Over HTTP/2, the span says so (and ends: the stream closing as its response ends
        // once dropped the span before it did).
        let h2 = try await GatewayHTTP2Tests.curl(
            ["--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_version} %{http_code}", "http://127.0.0.1:\(port)/t/x"])
        #expect(h2 == "2 200")
        let overHTTP2 = try #require(await Self.finishedSpan(tracer))
        #expect(overHTTP2.attributes["network.protocol.version"]?.toSpanAttribute() == "2")

        // Every try refused: 502, and the span says so, try by try.
        let failed = try await Self.get(port, "/dead/x")
        #expect(failed.status == 502)
        let failure = try #require(await Self.finishedSpan(tracer))
        #expect(failure.status?.code == .error)
        #expect(failure.attributes["http.response.status_code"]?.toSpanAttribute() == .int64(502))
        #expect(failure.events.map(\.name).starts(with: ["try", "try failed"]))
    }

    /// The one span finished since the last call, once it has.
    static func finishedSpan(_ tracer: InMemoryTracer) async -> FinishedInMemorySpan? {
        _ = await eventually(within: 5) { !tracer.finishedSpans.isEmpty }
        let spans = tracer.popFinishedSpans()
        return spans.count == 1 ? spans[0] : nil
    }

    /// A GET through the gateway: its status and, for `/echo`, the headers the instance got.
    static func get(
        _ port: Int, _ path: String, headers: [String: String] = [:]
    ) async throws -> (status: Int, upstreamHeaders: [String: String]) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        var upstreamHeaders: [String: String] = [:]
        if let echo = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let pairs = echo["headers"] as? [[String]]
        {
            for pair in pairs where pair.count == 2 { upstreamHeaders[pair[0]] = pair[1] }
        }
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, upstreamHeaders)
    }
}
