import Foundation
import ShoalTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// HTTP/2 into the gateway, with clients Shoal did not write: curl and h2load (nghttp2).
@Suite("shoal serve: HTTP/2 in, with prior knowledge and over TLS")
struct GatewayHTTP2Tests {
    static let curl = URL(fileURLWithPath: "/usr/bin/curl")

    /// Runs curl with `arguments`; its standard output as text.
    static func curl(_ arguments: [String], stdin: Data = Data()) async throws -> String {
        let result = try await blocking {
            try ChildProcess.run(curl, ["-s", "--max-time", "20"] + arguments, stdin: stdin)
        }
        #expect(result.status == 0, "curl \(arguments.joined(separator: " ")): \(result.stderr)")
        return String(decoding: result.stdout, as: UTF8.self)
    }

    /// The JSON the sample service's `/echo` answers: its headers as (name, value) pairs.
    static func echoedHeaders(_ body: String) -> [(String, String)] {
        let object = ServeProcess.object(body)
        return (object["headers"] as? [[String]] ?? []).filter { $0.count == 2 }.map { ($0[0], $0[1]) }
    }

    @Test("h2c with prior knowledge and HTTP/1.1 share the port; the request reaches the instance as HTTP/1.1")
    func priorKnowledge() async throws {
        let fixture = try await HTTP2GatewayFixture()
        defer { fixture.stop() }
        let (serve, base) = (fixture.serve, fixture.base)

        let answer = try await Self.curl([
            "--http2-prior-knowledge", "-H", "cookie: a=1", "-H", "cookie: b=2", "-w", "\n%{http_version} %{http_code}",
            "\(base)/api/echo?q=1",
        ])
        let lines = answer.split(separator: "\n")
        #expect(lines.last == "2 200", "\(answer)")
        let echoed = ServeProcess.object(String(lines.first ?? ""))
        #expect(echoed["uri"] as? String == "/echo?q=1", "the route's prefix is stripped as for HTTP/1.1")
        let headers = Self.echoedHeaders(String(lines.first ?? ""))
        #expect(headers.first { $0.0 == "host" }?.1 == "127.0.0.1:\(serve.gatewayPort)")
        #expect(headers.first { $0.0 == "cookie" }?.1 == "a=1; b=2", "\(headers)")
        #expect(headers.first { $0.0 == "x-forwarded-proto" }?.1 == "http")
        #expect(headers.first { $0.0 == "x-forwarded-for" }?.1 == "127.0.0.1")
        #expect(headers.contains { $0.0 == "x-request-id" })
        // The response's head: the instance's fields, the request's id, nothing of one
        // HTTP/1.1 connection; a HEAD's head keeps its length and ends the stream.
        let head = try await Self.curl(["--http2-prior-knowledge", "-I", "\(base)/api/echo"]).lowercased()
        #expect(head.hasPrefix("http/2 200"), "\(head)")
        #expect(head.contains("\r\nx-request-id: ") && head.contains("\r\ncontent-length: "), "\(head)")
        #expect(!head.contains("\r\nconnection:") && !head.contains("keep-alive"), "\(head)")

        // The same port still speaks HTTP/1.1, and the gateway's own answers go over HTTP/2 too.
        #expect(
            try await Self.curl(["--http1.1", "-o", "/dev/null", "-w", "%{http_version} %{http_code}", "\(base)/api/x"])
                == "1.1 200")
        let missing = try await Self.curl([
            "--http2-prior-knowledge", "-w", "\n%{http_version} %{http_code}", "\(base)/nowhere",
        ])
        #expect(missing.hasSuffix("\n2 404"), "\(missing)")
        #expect(missing.contains("request_id"))
        // /v1/gateway counts the connections that speak HTTP/2.
        let open = try RawConnection(port: serve.gatewayPort)
        open.send(HTTP2Frames.opening())
        #expect(
            await eventually {
                let status = try? await serve.request("GET", "/v1/gateway")
                return ServeProcess.object(status?.body ?? "")["http2_connections"] as? Int == 1
            })
        // An answer that comes before the request's body ends arrives whole: the stream is
        // reset (NO_ERROR) only after it, to stop the upload.
        let early = try await Self.curl(
            [
                "--http2-prior-knowledge", "--data-binary", "@-", "-w", "\n%{http_version} %{http_code}",
                "\(base)/nowhere",
            ],
            stdin: Data(count: 300_000))
        #expect(early.hasSuffix("\n2 404"), "\(early)")
        #expect(early.contains("request_id"), "\(early)")
        #expect(serve.shoal.process.isRunning)
    }

    @Test("bodies stream both ways: a sized upload, one of unknown length (chunked to the instance), a 5 MB download")
    func bodies() async throws {
        let fixture = try await HTTP2GatewayFixture()
        defer { fixture.stop() }
        let base = fixture.base
        let upload = Data((0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        // --data-binary @- declares the length; -T - streams it with none.
        let sized = try await Self.curl(
            ["--http2-prior-knowledge", "--data-binary", "@-", "\(base)/api/up"], stdin: upload)
        #expect(sized == "3000000\n")
        let streamed = try await Self.curl(["--http2-prior-knowledge", "-T", "-", "\(base)/api/up"], stdin: upload)
        #expect(streamed == "3000000\n")
        let download = try await Self.curl([
            "--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_version} %{size_download}",
            "\(base)/api/download?bytes=5000000",
        ])
        #expect(download == "2 5000000")
    }

    @Test("over TLS, ALPN picks h2 for clients that offer it and HTTP/1.1 for those that do not")
    func alpn() async throws {
        let certificates = try TestCertificates.make()
        let web = try await SampleServiceProcess(name: "web-1")
        let serve = try await ServeProcess(
            ["--tls-cert", certificates.serverCertificate, "--tls-key", certificates.serverKey],
            config: GatewayTests.routes)
        defer {
            web.stop()
            serve.stop()
            try? FileManager.default.removeItem(at: certificates.directory)
        }
        try await serve.register("web", web)
        let url = "https://127.0.0.1:\(serve.gatewayPort)/api/echo"
        let common = ["--cacert", certificates.caCertificate, "-o", "/dev/null", "-w", "%{http_version} %{http_code}"]
        #expect(await eventually(within: 10) { (try? await Self.curl(common + ["--http2", url])) == "2 200" })
        #expect(try await Self.curl(common + ["--http1.1", url]) == "1.1 200")
        let echoed = try await Self.curl(["--cacert", certificates.caCertificate, "--http2", url])
        #expect(Self.echoedHeaders(echoed).first { $0.0 == "x-forwarded-proto" }?.1 == "https")
    }

    @Test("each stream is balanced on its own: one connection's requests reach all three instances")
    func perStream() async throws {
        let webs = [
            try await SampleServiceProcess(name: "web-1"), try await SampleServiceProcess(name: "web-2"),
            try await SampleServiceProcess(name: "web-3"),
        ]
        // Least request, which spreads a burst by requests in flight alone. The default, hot-cold,
        // also weighs latency: an instance whose first answer (on a new connection, in a new
        // process) was a few times slower than the others' sits out for a second or two, and
        // a burst that soon after the warm-up reaches only two instances.
        let config = GatewayTests.routes.replacing(
            "    service: web\n    strip_prefix: true\n  orders:",
            with: "    service: web\n    strip_prefix: true\n    strategy: leastRequest\n  orders:")
        #expect(config.contains("strategy: leastRequest"))
        let serve = try await ServeProcess(config: config)
        defer {
            for web in webs { web.stop() }
            serve.stop()
        }
        for web in webs { try await serve.register("web", web) }
        let base = "http://127.0.0.1:\(serve.gatewayPort)"
        for web in webs { #expect(await serve.waitUntilRouted("/api/x", to: web.name, within: 20)) }
        // nghttp sends all 30 (distinct: it asks for a URI once) at once, as streams of one connection (curl 7.88 cannot reuse an
        // h2c connection it opened with prior knowledge; nginx sees the same).
        let run = try await blocking {
            try ChildProcess.run(
                URL(fileURLWithPath: "/usr/bin/nghttp"), ["-v"] + (1...30).map { "\(base)/api/x?n=\($0)" })
        }
        let output = String(decoding: run.stdout, as: UTF8.self)
        #expect(run.status == 0, "\(run.stderr)")
        let backends = output.split(separator: "\n").compactMap { line in
            line.contains(") x-backend: ") ? line.split(separator: " ").last.map(String.init) : nil
        }
        #expect(output.components(separatedBy: "send HEADERS frame").count - 1 == 30)
        #expect(backends.count == 30, "\(output)")
        let shares = Dictionary(grouping: backends, by: { $0 }).mapValues(\.count)
        #expect(shares.count == 3, "\(shares)")
        #expect(shares.values.allSatisfy { $0 >= 5 }, "\(shares)")
    }

    @Test("h2load: 20 streams at once on each of 4 connections, every one of 1,000 requests answered")
    func h2load() async throws {
        let fixture = try await HTTP2GatewayFixture()
        defer { fixture.stop() }
        let run = try await blocking {
            try ChildProcess.run(
                URL(fileURLWithPath: "/usr/bin/h2load"), ["-n", "1000", "-c", "4", "-m", "20", "\(fixture.base)/api/x"])
        }
        let output = String(decoding: run.stdout, as: UTF8.self)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(output.contains("requests: 1000 total, 1000 started, 1000 done, 1000 succeeded, 0 failed"), "\(output)")
        #expect(output.contains("status codes: 1000 2xx"), "\(output)")
        #expect(fixture.serve.shoal.process.isRunning)
    }

    @Test("graceful drain: SIGTERM sends GOAWAY, the stream in flight finishes, then the connection closes and exit 0")
    func drain() async throws {
        let slow = try await SampleServiceProcess(name: "slow-1", latency: "600ms")
        let serve = try await ServeProcess(config: GatewayTests.routes.replacing("timeout: 800ms", with: "timeout: 5s"))
        defer {
            slow.stop()
            serve.stop()
        }
        try await serve.register("slow", slow)
        #expect(await eventually(within: 10) { (try? await serve.gateway("/slow/x"))?.status == 200 })
        let inFlight = try RawConnection(port: serve.gatewayPort)
        inFlight.send(
            HTTP2Frames.opening()
                + HTTP2Frames.frame(
                    .headers, flags: HTTP2Frames.endHeaders | HTTP2Frames.endStream, stream: 1,
                    HTTP2Frames.get("/slow/x")))
        try await Task.sleep(for: .milliseconds(150))
        serve.shoal.process.signal(SIGTERM)
        // Read as a client does: a PING (the gateway asks before its last GOAWAY) gets its ACK.
        let (bytes, end) = HTTP2Frames.readAnsweringPings(inFlight)
        #expect(end == .closed)
        let frames = HTTP2Frames.parse(bytes)
        let kinds = frames.map { "\($0.kind)/\($0.stream)" }
        #expect(frames.contains { $0.kind == HTTP2Frames.Kind.goAway.rawValue }, "\(kinds)")
        #expect(frames.contains { $0.kind == HTTP2Frames.Kind.headers.rawValue && $0.stream == 1 }, "\(kinds)")
        let last = frames.last { $0.stream == 1 }
        #expect(last?.kind == HTTP2Frames.Kind.data.rawValue && last?.flags == HTTP2Frames.endStream, "\(kinds)")
        #expect(await serve.shoal.process.exited(within: 10))
        #expect(serve.shoal.process.exitCode == 0)
    }

    @Test("a client's RST_STREAM cancels the request at the instance: it is no longer in flight there")
    func cancellation() async throws {
        let slow = try await SampleServiceProcess(name: "slow-1", latency: "3s")
        let serve = try await ServeProcess(
            config: GatewayTests.routes.replacing("timeout: 800ms", with: "timeout: 10s"))
        defer {
            slow.stop()
            serve.stop()
        }
        try await serve.register("slow", slow)
        /// The requests in flight to the slow instance, as /v1/gateway says.
        func inFlight() async -> Int? {
            let status = ServeProcess.object((try? await serve.request("GET", "/v1/gateway"))?.body ?? "")
            let routes = status["routes"] as? [[String: Any]] ?? []
            let instances = routes.first { $0["service"] as? String == "slow" }?["instances"] as? [[String: Any]]
            return instances?.first?["in_flight"] as? Int
        }
        #expect(await eventually(within: 10) { await inFlight() == 0 })
        let connection = try RawConnection(port: serve.gatewayPort)
        connection.send(
            HTTP2Frames.opening()
                + HTTP2Frames.frame(
                    .headers, flags: HTTP2Frames.endHeaders | HTTP2Frames.endStream, stream: 1,
                    HTTP2Frames.get("/slow/x")))
        #expect(await eventually(within: 2) { await inFlight() == 1 })
        connection.send(HTTP2Frames.frame(.rstStream, stream: 1, HTTP2Frames.bigEndian(8)))
        // Well before the instance's 3 s answer.
        #expect(await eventually(within: 1) { await inFlight() == 0 }, "the cancelled request stayed in flight")
    }
}
