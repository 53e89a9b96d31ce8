import NIOCore
import Testing

@testable import ShoalGateway

/// The proxy handler on `EmbeddedChannel`s: real gateway code, real HTTP bytes, no sockets,
/// and a clock the test moves, so timeouts are exact and instant.
@Suite("the proxy handler on embedded channels: bytes in, bytes out, timers by hand")
struct ProxyHandlerTests {
    static func routes(
        retries: Int = 2, perTry: Duration = .seconds(5), timeout: Duration = .seconds(30)
    ) throws -> [GatewayRoute] {
        [
            try GatewayRoute(
                prefix: "/api", service: "api", strategy: .roundRobin, perTryTimeout: perTry, timeout: timeout,
                retries: retries)
        ]
    }
    static let get = "GET /api/x HTTP/1.1\r\nHost: a\r\n\r\n"
    static let ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"

    @Test("a GET goes to an instance and its answer to the client; the next one reuses the connection")
    func proxied() throws {
        let harness = try ProxyHarness(routes: Self.routes(), instances: ["api": [8001]])
        try harness.send(Self.get)
        #expect(harness.upstreams.count == 1)
        let upstream = try harness.toUpstream(0)
        #expect(upstream.hasPrefix("GET /api/x HTTP/1.1\r\n"))
        #expect(upstream.contains("x-forwarded-for: 192.0.2.7"))
        try harness.answer(0, Self.ok)
        let answer = try harness.toClient()
        #expect(answer.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(answer.hasSuffix("\r\n\r\nhi"))
        try harness.send(Self.get)
        #expect(harness.upstreams.count == 1, "the idle connection was reused")
        #expect(try harness.toUpstream(0).hasPrefix("GET /api/x"))
        #expect(harness.client.isActive)
    }

    @Test("Peak EWMA learns the time to the response's head, not to its end: a long body is no slow instance")
    func latencyToHead() throws {
        let harness = try ProxyHarness(
            routes: [try GatewayRoute(prefix: "/api", service: "api", strategy: .peakEWMA())],
            instances: ["api": [8001]])
        try harness.send(Self.get)
        harness.advance(.milliseconds(10))
        try harness.answer(0, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab")
        harness.advance(.seconds(5))
        try harness.answer(0, "cd")
        #expect(try harness.toClient().hasSuffix("\r\n\r\nabcd"))
        let estimate = harness.gatewayLoop.shared.upstreams[0].balancer?.report.first?.latencyEWMA
        #expect(
            estimate.map { $0 > .milliseconds(5) && $0 < .milliseconds(100) } == true, "\(String(describing: estimate))"
        )
    }

    @Test("a head not finished within the header timeout gets 408 and a close; an idle connection closes quietly")
    func headTimeouts() throws {
        let limits = GatewayConfiguration.Limits(headerTimeout: .seconds(10), idleTimeout: .seconds(60))
        let slow = try ProxyHarness(routes: Self.routes(), instances: [:], limits: limits)
        try slow.send("GET /api/x HTTP/1.1\r\nHo")
        slow.advance(.seconds(9))
        #expect(try slow.toClient().isEmpty)
        slow.advance(.seconds(1))
        #expect(try slow.toClient().hasPrefix("HTTP/1.1 408 "))
        #expect(!slow.client.isActive)

        let idle = try ProxyHarness(routes: Self.routes(), instances: ["api": [8001]], limits: limits)
        try idle.send(Self.get)
        try idle.answer(0, Self.ok)
        _ = try idle.toClient()
        idle.advance(.seconds(59))
        #expect(idle.client.isActive)
        idle.advance(.seconds(1))
        #expect(!idle.client.isActive)
        #expect(try idle.toClient().isEmpty)
    }

    @Test("an instance silent past the per-try timeout: the GET goes to another; past the route's timeout, 504")
    func tryTimeouts() throws {
        let harness = try ProxyHarness(
            routes: Self.routes(retries: 1, perTry: .seconds(2), timeout: .seconds(3)),
            instances: ["api": [8001, 8002]])
        try harness.send(Self.get)
        harness.advance(.milliseconds(1999))
        #expect(harness.upstreams.count == 1)
        harness.advance(.milliseconds(1))
        #expect(harness.upstreams.count == 2, "retried on the other instance")
        #expect(!harness.upstreams[0].channel.isActive, "the silent try's connection is closed")
        #expect(harness.upstreams[0].address != harness.upstreams[1].address)
        harness.advance(.seconds(1))
        let answer = try harness.toClient()
        #expect(answer.hasPrefix("HTTP/1.1 504 "))
        #expect(harness.client.isActive, "a GET answered with an error keeps its connection")
    }

    @Test("an instance that closes before its head: the GET is retried, a POST gets 502")
    func closedBeforeHead() throws {
        let harness = try ProxyHarness(routes: Self.routes(), instances: ["api": [8001, 8002]])
        try harness.send(Self.get)
        try harness.upstreams[0].channel.close().wait()
        #expect(harness.upstreams.count == 2)
        try harness.answer(1, Self.ok)
        #expect(try harness.toClient().hasPrefix("HTTP/1.1 200 "))

        try harness.send("POST /api/x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nab")
        let posted = harness.upstreams.count - 1
        try harness.upstreams[posted].channel.close().wait()
        #expect(harness.upstreams.count == posted + 1, "a POST is not sent twice")
        #expect(try harness.toClient().hasPrefix("HTTP/1.1 502 "))
    }

    @Test("a client that leaves mid-body: the instance's connection is closed, not pooled")
    func clientLeaves() throws {
        let harness = try ProxyHarness(routes: Self.routes(), instances: ["api": [8001]])
        try harness.send("POST /api/x HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc")
        #expect(try harness.toUpstream(0).hasSuffix("\r\n\r\nabc"))
        try harness.client.close().wait()
        #expect(!harness.upstreams[0].channel.isActive)
        #expect(harness.gatewayLoop.pool.idleCount == 0)
    }

    @Test("Expect: 100-continue gets 100 Continue from the gateway, then the body goes on")
    func expectContinue() throws {
        let harness = try ProxyHarness(routes: Self.routes(), instances: ["api": [8001]])
        try harness.send("PUT /api/x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n")
        #expect(try harness.toClient() == "HTTP/1.1 100 Continue\r\n\r\n")
        try harness.send("ok")
        #expect(try harness.toUpstream(0).hasSuffix("\r\n\r\nok"))
        try harness.answer(0, Self.ok)
        #expect(try harness.toClient().hasPrefix("HTTP/1.1 200 "))
    }

    @Test("an upgrade: the 101 reaches the client, then bytes go both ways until the tunnel idles out")
    func upgrade() throws {
        let limits = GatewayConfiguration.Limits(tunnelIdleTimeout: .seconds(30))
        let harness = try ProxyHarness(routes: Self.routes(), instances: ["api": [8001]], limits: limits)
        try harness.send(
            "GET /api/ws HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n")
        #expect(try harness.toUpstream(0).lowercased().contains("upgrade: websocket"))
        try harness.answer(0, "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n")
        #expect(try harness.toClient().hasPrefix("HTTP/1.1 101 "))
        try harness.send("ping")
        #expect(try harness.toUpstream(0) == "ping")
        try harness.answer(0, "pong")
        #expect(try harness.toClient() == "pong")
        harness.advance(.seconds(29))
        #expect(harness.client.isActive)
        harness.advance(.seconds(1))
        #expect(!harness.client.isActive)
    }

    @Test("drain: the response in progress ends with Connection: close, then the connection closes")
    func drain() throws {
        let harness = try ProxyHarness(routes: Self.routes(), instances: ["api": [8001]])
        try harness.send(Self.get)
        harness.handler.drain()
        #expect(harness.client.isActive)
        try harness.answer(0, Self.ok)
        let answer = try harness.toClient()
        #expect(answer.lowercased().contains("connection: close"))
        #expect(!harness.client.isActive)
        // An idle connection closes when the drain's idle grace (1 s) ends…
        let idle = try ProxyHarness(routes: Self.routes(), instances: [:])
        idle.handler.drain()
        #expect(idle.client.isActive)
        idle.advance(.milliseconds(999))
        #expect(idle.client.isActive)
        idle.advance(.milliseconds(1))
        #expect(!idle.client.isActive)
        // …and a request that comes in it is answered, with Connection: close.
        let late = try ProxyHarness(routes: Self.routes(), instances: ["api": [8001]])
        late.handler.drain()
        late.advance(.milliseconds(500))
        try late.send(Self.get)
        try late.answer(0, Self.ok)
        #expect(try late.toClient().lowercased().contains("connection: close"))
        #expect(!late.client.isActive)
    }

    @Test("no instance gets 503, no route 404, each with the request id, and the connection stays")
    func ownAnswers() throws {
        let harness = try ProxyHarness(routes: Self.routes(), instances: [:])
        try harness.send(Self.get)
        let none = try harness.toClient()
        #expect(none.hasPrefix("HTTP/1.1 503 "))
        #expect(none.contains("x-request-id: "))
        try harness.send("GET /other HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try harness.toClient().hasPrefix("HTTP/1.1 404 "))
        #expect(harness.client.isActive)
    }

    @Test("pipelined requests are answered in order, each after the one before")
    func pipelined() throws {
        let harness = try ProxyHarness(routes: Self.routes(), instances: ["api": [8001]])
        try harness.send(Self.get + "GET /api/y HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try harness.toUpstream(0).hasPrefix("GET /api/x "))
        try harness.answer(0, Self.ok)
        #expect(try harness.toClient().hasSuffix("hi"))
        #expect(try harness.toUpstream(0).hasPrefix("GET /api/y "))
    }
}
