import Foundation
import ShoalTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("shoal serve --otlp-endpoint: request spans exported over OTLP/HTTP", .serialized)
struct OTLPExportTests {
    static func hex(_ bytes: [UInt8]?) -> String {
        (bytes ?? []).map { String(format: "%02x", $0) }.joined()
    }

    /// Every span in the exports: ExportTraceServiceRequest.resource_spans (1) →
    /// ResourceSpans.scope_spans (2) → ScopeSpans.spans (2), with the resource's attributes.
    static func spans(_ exports: [OTLPCollector.Export]) throws -> [(resource: [String: String], span: ProtobufFields)]
    {
        var spans: [([String: String], ProtobufFields)] = []
        for export in exports {
            for resourceSpans in try ProtobufFields(export.body).messages(1) {
                var resource: [String: String] = [:]
                // Resource.attributes (1): KeyValue { key (1), value (2): AnyValue { string_value (1) } }.
                for attribute in try resourceSpans.messages(1).first?.messages(1) ?? [] {
                    if let key = attribute.string(1), let value = try attribute.messages(2).first?.string(1) {
                        resource[key] = value
                    }
                }
                for scopeSpans in try resourceSpans.messages(2) {
                    for span in try scopeSpans.messages(2) { spans.append((resource, span)) }
                }
            }
        }
        return spans
    }

    @Test("a routed request's server span reaches the collector with the client's trace, and is the instance's parent")
    func exported() async throws {
        let collector = OTLPCollector()
        try await collector.start()
        let routed = try await RoutedGateway(
            ["--otlp-endpoint", "http://127.0.0.1:\(collector.port ?? 0)"],
            environment: ["OTEL_BSP_SCHEDULE_DELAY": "100"])
        defer { routed.stop() }
        let serve = routed.serve

        // First a request the client's trace does not sample: the span is dropped (the default
        // sampler follows the parent), but the instance still gets the trace, unsampled, with
        // the gateway's span as parent.
        let unsampledTrace = "0af7651916cd43dd8448eb211c80319c"
        let unsampled = try await serve.gateway(
            "/api/echo", headers: ["traceparent": "00-\(unsampledTrace)-b7ad6b7169203331-00"])
        let unsampledEcho = try #require(
            try JSONSerialization.jsonObject(with: Data(unsampled.body.utf8)) as? [String: Any])
        let unsampledParent = (unsampledEcho["headers"] as? [[String]] ?? []).first { $0.first == "traceparent" }?.last
        let parts = unsampledParent?.split(separator: "-").map(String.init) ?? []
        #expect(parts.count == 4 && parts[1] == unsampledTrace && parts[3] == "00", "\(unsampledParent ?? "none")")
        #expect(parts.count == 4 && parts[2].count == 16 && parts[2] != "b7ad6b7169203331")

        let traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
        let clientSpan = "00f067aa0ba902b7"
        let answer = try await serve.gateway("/api/echo", headers: ["traceparent": "00-\(traceID)-\(clientSpan)-01"])
        #expect(answer.status == 200)
        let echoed = try #require(try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any])
        let upstreamHeaders = (echoed["headers"] as? [[String]] ?? []).filter { $0.count == 2 }
        let upstreamParent = upstreamHeaders.first { $0[0] == "traceparent" }?[1]

        var found: (resource: [String: String], span: ProtobufFields)?
        let exported = await eventually(within: 30) {
            found = try? Self.spans(collector.exports).first { Self.hex($0.span.bytes(1).first) == traceID }
            return found != nil
        }
        #expect(exported, "\(collector.exports.count) exports")
        let (resource, span) = try #require(found)
        // Span: trace_id (1), span_id (2), parent_span_id (4), name (5), kind (6; 2 is SERVER).
        #expect(span.string(5) == "GET /api")
        #expect(span.varint(6) == 2)
        #expect(Self.hex(span.bytes(4).first) == clientSpan)
        #expect(resource["service.name"] == "shoal")
        #expect(collector.exports.allSatisfy { $0.contentType == "application/x-protobuf" })
        // The instance's request carries the gateway's span as its parent, in the same trace.
        let spanID = Self.hex(span.bytes(2).first)
        #expect(spanID.count == 16)
        #expect(upstreamParent == "00-\(traceID)-\(spanID)-01")
        // The unsampled request ended first: had its span been kept, it would be exported by now.
        #expect(try Self.spans(collector.exports).allSatisfy { Self.hex($0.span.bytes(1).first) != unsampledTrace })
        await collector.stop()
    }

    @Test("spans still waiting for their batch are exported when SIGTERM stops shoal serve")
    func exportedAtExit() async throws {
        let collector = OTLPCollector()
        try await collector.start()
        // The default batch delay, 5 s: the stop comes first.
        let routed = try await RoutedGateway(["--otlp-endpoint", "http://127.0.0.1:\(collector.port ?? 0)"])
        defer { routed.stop() }
        let serve = routed.serve
        let traceID = "0af7651916cd43dd8448eb211c80319c"
        let answer = try await serve.gateway("/api/last", headers: ["traceparent": "00-\(traceID)-b7ad6b7169203331-01"])
        #expect(answer.status == 200)
        let stopped = ContinuousClock.now
        serve.shoal.process.signal(SIGTERM)
        #expect(await eventually(within: 10) { !serve.shoal.process.isRunning })
        #expect(serve.shoal.process.exitCode == 0)
        #expect(ContinuousClock.now - stopped < .seconds(4), "the exit waited for the batch delay")
        let spans = try Self.spans(collector.exports)
        #expect(spans.contains { Self.hex($0.span.bytes(1).first) == traceID }, "\(spans.count) spans")
        await collector.stop()
    }

    @Test("an endpoint that is not an http or https URL exits 2 naming --otlp-endpoint")
    func badEndpoint() async throws {
        let result = try await ShoalProcess.run([
            "serve", "--admin", "127.0.0.1:0", "--listen", "127.0.0.1:0", "--otlp-endpoint", "127.0.0.1:4318",
        ])
        #expect(result.status == 2)
        #expect(result.stderr.contains("--otlp-endpoint") && result.stderr.contains("http://"), "\(result.stderr)")
    }
}
