import Foundation
import ShoalCore
import ShoalTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("the gateway in shoal serve, with sample services as child processes", .serialized)
struct GatewayTests {
    static let routes = """
        admin: 127.0.0.1:0
        listen: 127.0.0.1:0
        threads: 2
        limits:
          header_timeout: 1s
          max_header_bytes: 8192
        routes:
          api:
            prefix: /api
            service: web
            strip_prefix: true
          orders:
            prefix: /api/orders
            service: orders
          slow:
            prefix: /slow
            service: slow
            timeout: 800ms
            per_try_timeout: 800ms
          small:
            prefix: /small
            service: web
            max_body_bytes: 1000

        """

    @Test("routes by longest prefix, strips it, and sets the forwarding headers; errors are JSON with the request id")
    func routing() async throws {
        let web = try await SampleServiceProcess(name: "web-1")
        let orders = try await SampleServiceProcess(name: "orders-1")
        let serve = try await ServeProcess(config: Self.routes)
        defer { [web, orders].forEach { $0.stop() }; serve.stop() }
        try await serve.register("web", web)
        try await serve.register("orders", orders)
        #expect(await serve.waitUntilRouted("/api/x", to: "web-1"))
        #expect(await serve.waitUntilRouted("/api/orders/7", to: "orders-1"))
        #expect(try await serve.gateway("/apiary").status == 404)  // a prefix ends at a segment

        let echo = try await serve.gateway(
            "/api/echo/a?b=1",
            headers: [
                "X-Request-Id": "req-42", "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                "Connection": "x-drop-me", "X-Drop-Me": "1", "X-Forwarded-For": "10.1.1.1",
                "X-Forwarded-Client-Cert": "Hash=set-by-a-proxy-in-front",
            ])
        #expect(echo.status == 200)
        #expect(echo.headers["x-request-id"] == "req-42")
        let seen = try #require(try JSONSerialization.jsonObject(with: Data(echo.body.utf8)) as? [String: Any])
        #expect(seen["uri"] as? String == "/echo/a?b=1")
        let headers = Dictionary(
            ((seen["headers"] as? [[String]]) ?? []).map { ($0[0], $0[1]) }, uniquingKeysWith: { a, b in "\(a), \(b)" })
        #expect(headers["x-forwarded-for"] == "10.1.1.1, 127.0.0.1")
        #expect(headers["x-forwarded-proto"] == "http")
        #expect(headers["x-forwarded-host"] == "127.0.0.1:\(serve.gatewayPort)")
        #expect(headers["x-request-id"] == "req-42")
        #expect(headers["traceparent"] == "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
        #expect(headers["x-drop-me"] == nil)  // named by Connection: hop-by-hop
        // Plain HTTP: a proxy in front terminated TLS and vouches for the client.
        #expect(headers["x-forwarded-client-cert"] == "Hash=set-by-a-proxy-in-front")

        let missing = try await serve.gateway("/nowhere")
        #expect(missing.status == 404)
        let error = try #require(try JSONSerialization.jsonObject(with: Data(missing.body.utf8)) as? [String: Any])
        #expect(error["status"] as? Int == 404 && error["request_id"] as? String == missing.headers["x-request-id"])
        #expect((missing.headers["x-request-id"]?.count ?? 0) == 32)

        // Pipelined requests are answered in order.
        let pipelined = try RawConnection(port: serve.gatewayPort)
        pipelined.send("GET /api/echo/1 HTTP/1.1\r\nHost: a\r\n\r\nGET /api/orders/2 HTTP/1.1\r\nHost: a\r\n\r\n")
        // Read late, so that both answers are likely waiting and come in one read.
        try await Task.sleep(for: .milliseconds(300))
        let first = pipelined.readResponse()
        let second = pipelined.readResponse()
        #expect(first.map { String(decoding: $0.body, as: UTF8.self).contains(#""uri":"/echo/1""#) } == true)
        #expect(second?.head.contains("x-backend: orders-1") == true)

        let unserved = try await serve.gateway("/slow/x")  // no instance registered
        #expect(unserved.status == 503 && unserved.body.contains("no instance of slow"))

        // What happened, in Prometheus's format on the admin listener.
        let metrics = try await serve.request("GET", "/metrics")
        #expect(metrics.status == 200)
        #expect(metrics.body.contains(#"shoal_gateway_requests_total{route="/api",upstream="127.0.0.1:\#(web.port)",status="200"}"#))
        #expect(metrics.body.contains(#"shoal_gateway_requests_total{route="/slow",upstream="none",status="503"} 1"#))
        #expect(metrics.body.contains(#"shoal_gateway_request_duration_seconds_count{route="/api/orders"}"#))
    }

    @Test("an instance killed with kill -9 under load: no GET fails")
    func killedUnderLoad() async throws {
        let backends = [
            try await SampleServiceProcess(name: "a"), try await SampleServiceProcess(name: "b"),
            try await SampleServiceProcess(name: "c"),
        ]
        let serve = try await ServeProcess(config: Self.routes)
        defer { backends.forEach { $0.stop() }; serve.stop() }
        for backend in backends { try await serve.register("web", backend) }
        #expect(await eventually(within: 10) { (try? await serve.gateway("/api/x"))?.status == 200 })
        let failures = await withTaskGroup(of: (Int, Int).self) { group in
            for _ in 0..<8 {
                group.addTask {
                    var sent = 0
                    var failed = 0
                    let end = ContinuousClock.now + .seconds(3)
                    while ContinuousClock.now < end {
                        sent += 1
                        if (try? await serve.gateway("/api/x"))?.status != 200 { failed += 1 }
                    }
                    return (sent, failed)
                }
            }
            try? await Task.sleep(for: .seconds(1))
            backends[1].kill()
            var total = (sent: 0, failed: 0)
            for await (sent, failed) in group { total = (total.sent + sent, total.failed + failed) }
            return total
        }
        #expect(failures.sent > 100)
        #expect(failures.failed == 0, "\(failures.failed) of \(failures.sent) failed")
        // The dead instance is still registered (no health check): the gateway stops picking it.
        #expect(try await serve.gateway("/api/x").status == 200)
    }

    @Test("a slow instance gets 504 at the route's timeout; a refused connection gets 502 for a POST")
    func timeoutsAndFailures() async throws {
        let slow = try await SampleServiceProcess(name: "slow-1", latency: "3s")
        let serve = try await ServeProcess(config: Self.routes)
        defer { slow.stop(); serve.stop() }
        try await serve.register("slow", slow)
        #expect(await eventually(within: 10) {
            await ((try? serve.request("GET", "/v1/services/slow"))?.body.contains("slow-1") ?? false)
        })
        try await Task.sleep(for: .milliseconds(200))
        let start = ContinuousClock.now
        let answer = try await serve.gateway("/slow/x")
        let took = ContinuousClock.now - start
        #expect(answer.status == 504 && answer.body.contains("did not answer in time"))
        #expect(took >= .milliseconds(700) && took < .seconds(2), "took \(took)")

        // An instance that is gone: nothing listens on its port.
        let gone = try await SampleServiceProcess(name: "gone")
        gone.kill()
        try await serve.register("orders", gone)
        try await Task.sleep(for: .milliseconds(300))
        let post = try await serve.gateway("/api/orders/1", method: "POST", body: Data("x".utf8))
        #expect(post.status == 502 && post.body.contains("orders failed"))
        #expect(serve.shoal.process.isRunning)
    }

    @Test("malformed and smuggling requests get 400, a big head 431, a big body 413; the gateway stays up")
    func badRequests() async throws {
        let web = try await SampleServiceProcess(name: "web-1")
        let serve = try await ServeProcess(config: Self.routes)
        defer { web.stop(); serve.stop() }
        try await serve.register("web", web)
        #expect(await serve.waitUntilRouted("/api/x", to: "web-1"))
        let cases: [(String, Int)] = [
            ("POST /api/x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
            ("POST /api/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 400),
            ("POST /api/x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcd", 400),
            ("HELLO THERE\r\n\r\n", 400),
            ("GET /api/x HTTP/1.1\r\nHost: a\r\nX-Big: \(String(repeating: "b", count: 10_000))\r\n\r\n", 431),
            ("POST /small HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n", 413),
        ]
        for (request, status) in cases {
            let connection = try RawConnection(port: serve.gatewayPort)
            connection.send(request)
            let response = connection.readResponse()
            #expect(response?.status == status, "\(request.prefix(60)): \(response?.head ?? "no answer")")
            #expect(response.map { String(decoding: $0.body, as: UTF8.self).contains(#""status":\#(status)"#) } == true)
        }
        // A chunked body over the route's limit is cut off with 413 too.
        let chunked = try RawConnection(port: serve.gatewayPort)
        chunked.send("POST /small HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunked.send("800\r\n\(String(repeating: "z", count: 2048))\r\n0\r\n\r\n")
        #expect(chunked.readResponse()?.status == 413)
        // 300 requests of random bytes and broken HTTP, seeded: answers or closes, never a crash.
        let port = serve.gatewayPort
        try await blocking {
            var random = SplitMix64(seed: 20261129)
            let pieces = [
                "GET ", "POST ", "/api/x", " HTTP/1.1", " HTTP/9.9", "\r\n", "\n", "Host: a", "Content-Length: ",
                "Transfer-Encoding: chunked", "-1", "99999999999999999999", "\r\n\r\n", "0\r\n\r\n", "zz\r\n", ":", " ",
                "\u{0}", "\u{7f}", "é", "Connection: close", "Expect: 100-continue",
            ]
            for _ in 0..<300 {
                var request: [UInt8] = []
                for _ in 0..<Int(random.next() % 12 + 1) {
                    if random.next() % 4 == 0 {
                        request += (0..<Int(random.next() % 16)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                    } else {
                        request += Array(pieces[Int(random.next() % UInt64(pieces.count))].utf8)
                    }
                }
                let connection = try RawConnection(port: port, timeout: 0.3)
                connection.send(request)
                _ = connection.receive(limit: 4096)
            }
        }
        #expect(serve.shoal.process.isRunning)
        #expect(try await serve.gateway("/api/x").status == 200)
    }

    @Test("request targets: a path cannot walk to another route, absolute-form works, and garbage gets 400 at once")
    func requestTargets() async throws {
        let web = try await SampleServiceProcess(name: "web-1")
        let orders = try await SampleServiceProcess(name: "orders-1")
        let serve = try await ServeProcess(config: Self.routes)
        defer { web.stop(); orders.stop(); serve.stop() }
        try await serve.register("web", web)
        try await serve.register("orders", orders)
        #expect(await serve.waitUntilRouted("/api/x", to: "web-1"))
        // (request target, the instance that must answer, the target it must get; web-1's
        // route strips /api, so it echoes what it got, and orders-1 answers with its name)
        let cases: [(String, String, String?)] = [
            ("/api/orders/../echo?q=/../x", "web-1", "/echo?q=/../x"),
            ("/api/orders/%2e%2E/echo", "web-1", "/echo"),
            ("/api/x/%2e%2E//echo/.", "web-1", "/echo/"),
            ("//api//orders/./x", "orders-1", nil),
            ("/api/%6Frders/x", "orders-1", nil),
            ("http://elsewhere.example/api/echo", "web-1", "/echo"),
        ]
        for (target, backend, sent) in cases {
            let connection = try RawConnection(port: serve.gatewayPort)
            connection.send("GET \(target) HTTP/1.1\r\nHost: gateway.example\r\n\r\n")
            let response = connection.readResponse()
            let body = response.map { String(decoding: $0.body, as: UTF8.self) } ?? ""
            #expect(response?.status == 200, "\(target): \(response?.head ?? "no answer")")
            if let sent {
                #expect(body.contains(#""backend":"\#(backend)""#) && body.contains(#""uri":"\#(sent)""#), "\(target): \(body)")
            } else {
                #expect(body == "ok from \(backend)\n", "\(target): \(body)")
            }
            if target.hasPrefix("http:") { #expect(body.contains(#"["host","elsewhere.example"]"#), "\(body)") }
        }
        for target in ["/api/a%2Fb", "/api/a%zz", "/api/x#f"] {
            let connection = try RawConnection(port: serve.gatewayPort)
            connection.send("GET \(target) HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(connection.readResponse()?.status == 400, "\(target)")
        }
        // A TLS ClientHello's first bytes on the plain port: 400 at once, well before the
        // header timeout (1 s here), whose answer would be 408.
        let hello = try RawConnection(port: serve.gatewayPort, timeout: 0.5)
        hello.send([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03])
        #expect(hello.readResponse()?.status == 400)
        #expect(serve.shoal.process.isRunning)
    }

    @Test("slowloris: a head not finished within the header timeout gets 408 and the connection closes")
    func slowloris() async throws {
        let serve = try await ServeProcess(config: Self.routes)
        defer { serve.stop() }
        let port = serve.gatewayPort
        let start = ContinuousClock.now
        let (status, rest) = try await blocking {
            let slow = try RawConnection(port: port, timeout: 5)
            slow.send("GET /api/x HTTP/1.1\r\nHost: a\r\n")
            return (slow.readResponse()?.status, slow.receiveUntilClosed())
        }
        #expect(status == 408)
        #expect(rest.bytes.isEmpty && rest.end == .closed)  // then closed
        #expect(ContinuousClock.now - start < .seconds(3))
        // A connection that sends nothing is closed without an answer, within the header
        // timeout: a read that waits 5 s would time out if the gateway held it open.
        let silentStart = ContinuousClock.now
        let silence = try await blocking { try RawConnection(port: port, timeout: 5).receiveUntilClosed() }
        #expect(silence.bytes.isEmpty && silence.end == .closed)
        #expect(ContinuousClock.now - silentStart < .seconds(4))
    }

    @Test("100 MB up and 100 MB down through the gateway in bounded memory")
    func streaming() async throws {
        let web = try await SampleServiceProcess(name: "web-1")
        let serve = try await ServeProcess(config: Self.routes)
        defer { web.stop(); serve.stop() }
        try await serve.register("web", web)
        #expect(await serve.waitUntilRouted("/api/x", to: "web-1"))
        let size = 100 * 1024 * 1024
        let before = serve.memory.resident

        let port = serve.gatewayPort
        let (uploaded, downloaded) = try await blocking {
            let upload = try RawConnection(port: port, timeout: 30)
            upload.send("POST /api/upload HTTP/1.1\r\nHost: a\r\nContent-Length: \(size)\r\n\r\n")
            let chunk = [UInt8](repeating: 0x61, count: 1 << 20)
            for _ in 0..<100 { upload.send(chunk) }
            let uploaded = upload.readResponse()
            let download = try RawConnection(port: port, timeout: 30)
            download.send("GET /api/download?bytes=\(size) HTTP/1.1\r\nHost: a\r\n\r\n")
            return (uploaded.map { ($0.status, String(decoding: $0.body, as: UTF8.self)) }, download.readResponse(keep: 0))
        }
        #expect(uploaded?.0 == 200)
        #expect(uploaded?.1 == "\(size)\n")
        #expect(downloaded?.status == 200 && downloaded?.bodyBytes == size)

        let peak = serve.memory.peak
        #expect(peak - before < 64 * 1024 * 1024, "peak \(peak >> 20) MiB from \(before >> 20) MiB")
    }

    @Test("graceful drain: SIGTERM stops accepting, the request in flight finishes, then exit 0")
    func drain() async throws {
        let slow = try await SampleServiceProcess(name: "slow-1", latency: "600ms")
        let serve = try await ServeProcess(config: Self.routes.replacing("timeout: 800ms", with: "timeout: 5s"))
        defer { slow.stop(); serve.stop() }
        try await serve.register("slow", slow)
        #expect(await eventually(within: 10) { (try? await serve.gateway("/slow/x"))?.status == 200 })
        let inFlight = try RawConnection(port: serve.gatewayPort)
        inFlight.send("GET /slow/x HTTP/1.1\r\nHost: a\r\n\r\n")
        try await Task.sleep(for: .milliseconds(150))
        serve.shoal.process.signal(SIGTERM)
        try await Task.sleep(for: .milliseconds(150))
        #expect(throws: (any Error).self) { try RawConnection(port: serve.gatewayPort) }  // no longer accepting
        let answer = inFlight.readResponse()
        #expect(answer?.status == 200)
        #expect(answer?.head.lowercased().contains("connection: close") == true)
        #expect(await serve.shoal.process.exited(within: 10))
        #expect(serve.shoal.process.exitCode == 0)
    }

    @Test("5,000 idle connections cost bounded memory; over the connection limit, new ones are closed")
    func idleConnections() async throws {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = limit.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        try #require(limit.rlim_cur >= 11_000, "needs 11,000 open files (ulimit -n), has \(limit.rlim_cur)")
        let serve = try await ServeProcess(
            config: Self.routes.replacing("header_timeout: 1s", with: "header_timeout: 60s")
                .replacing("limits:\n", with: "limits:\n  max_connections: 5000\n  idle_timeout: 60s\n"))
        defer { serve.stop() }
        let before = serve.memory.resident
        let port = serve.gatewayPort
        let connections = try await blocking { try OpenConnections(5000, port: port) }
        // Every one is served: a request on the last answers (404: no such route).
        #expect(try await blocking { connections.lastAnswers("GET /none HTTP/1.1\r\nHost: a\r\n\r\n") } == 404)
        #expect(await eventually(within: 10) { serve.memory.resident > before })
        let grown = serve.memory.resident - before
        #expect(grown < 50 * 1024 * 1024, "5,000 idle connections took \(grown >> 10) KiB")
        // The 5,001st is closed at once.
        let extra = try await blocking {
            let extra = try RawConnection(port: port, timeout: 2)
            extra.send("GET /none HTTP/1.1\r\nHost: a\r\n\r\n")
            return extra.receiveUntilClosed()
        }
        // Closed, with no answer, before the 2 s read timeout.
        #expect(extra.bytes.isEmpty && extra.end == .closed, "\(extra.bytes.count) bytes, \(extra.end)")
        connections.closeAll()
        #expect(await eventually(within: 10) {
            let again = try? RawConnection(port: serve.gatewayPort, timeout: 2)
            again?.send("GET /none HTTP/1.1\r\nHost: a\r\n\r\n")
            return again?.readResponse()?.status == 404
        })
    }

    @Test("two shoal serve processes on one Redis both route to an instance registered through either")
    func sharedRedis() async throws {
        let redis = try RedisServer.start()
        let one = try await SampleServiceProcess(name: "one")
        let two = try await SampleServiceProcess(name: "two")
        let config = Self.routes + "redis:\n  url: \(redis.url)\n"
        let a = try await ServeProcess(config: config)
        let b = try await ServeProcess(config: config)
        defer { [one, two].forEach { $0.stop() }; a.stop(); b.stop() }
        try await a.register("web", one)
        #expect(await a.waitUntilRouted("/api/x", to: "one"))
        #expect(await b.waitUntilRouted("/api/x", to: "one"))
        #expect(try await a.request("DELETE", "/v1/services/web/instances/one").status == 204)
        try await b.register("web", two)
        #expect(await a.waitUntilRouted("/api/x", to: "two"))
        #expect(await b.waitUntilRouted("/api/x", to: "two"))
    }

    @Test("connections opened and closed by the thousand leave no memory behind")
    func connectionChurn() async throws {
        let web = try await SampleServiceProcess(name: "web-1")
        let serve = try await ServeProcess(config: Self.routes)
        defer { web.stop(); serve.stop() }
        try await serve.register("web", web)
        #expect(await serve.waitUntilRouted("/api/x", to: "web-1"))
        let port = serve.gatewayPort
        @Sendable func churn(_ count: Int) throws {
            for n in 0..<count {
                let connection = try RawConnection(port: port)
                connection.send("GET \(n % 2 == 0 ? "/api/x" : "/none") HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
                _ = connection.readResponse()
            }
        }
        try await blocking { try churn(2_000) }  // warm up: pools, allocator arenas
        let before = serve.memory.resident
        try await blocking { try churn(10_000) }
        let grown = serve.memory.resident - before
        // A leak of even 500 bytes a connection would show as 5 MB.
        #expect(grown < 3 * 1024 * 1024, "10,000 connections left \(grown >> 10) KiB behind")
    }
}

/// Many open connections to the gateway, made and used off the shared threads.
final class OpenConnections: @unchecked Sendable {
    // Used by one thread at a time: each call runs inside `blocking`, awaited before the next.
    private var connections: [RawConnection]

    init(_ count: Int, port: Int) throws {
        connections = try (0..<count).map { _ in try RawConnection(port: port, timeout: 2) }
    }

    /// Sends `request` on the last connection; the status it got, if any.
    func lastAnswers(_ request: String) -> Int? {
        connections.last?.send(request)
        return connections.last?.readResponse()?.status
    }

    func closeAll() {
        connections.removeAll()
    }
}
