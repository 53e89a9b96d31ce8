import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import ShoalDiscovery
import ShoalGateway
import ShoalTesting
import Synchronization
import Testing

/// An instance that answers with scripted bytes, chosen by the request's path, and keeps the
/// raw bytes of every request it read: what the gateway really sent.
final class ScriptedInstance: Sendable {
    let port: Int
    private let channel: any Channel
    private let recorder = Recorder()

    /// The answers: path → raw response bytes. `/record` answers with the request's own bytes.
    static let answers: [String: String] = [
        "/chunked":
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T, Server-Timing\r\n\r\n5;ext\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n"
            + "Content-Length: 9\r\nServer-Timing: db;dur=53\r\n\r\n",
        "/close": "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the close",
        "/head": "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n",
        "/early": "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        "/bad": "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nok",
        "/switch": "HTTP/1.1 101 Switching Protocols\r\nUpgrade: other\r\nConnection: upgrade\r\n\r\n",
    ]

    init() async throws {
        let recorder = recorder
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ScriptedHandler(recorder: recorder))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress!.port!
    }

    /// The requests read so far, as text.
    var requests: [String] { recorder.requests.withLock { $0 } }

    func stop() {
        channel.close(promise: nil)
    }
}

/// The requests a scripted instance read.
final class Recorder: Sendable {
    let requests = Mutex<[String]>([])
}

/// Reads a request (a head, then a body by length or to its last chunk) and answers it.
final class ScriptedHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let recorder: Recorder
    var pending = ""

    init(recorder: Recorder) {
        self.recorder = recorder
    }

    /// Set once `/ws` switched protocols: every byte read is sent back, and `bye` closes.
    var echoing = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if echoing {
            let bytes = unwrapInboundIn(data)
            let bye = String(buffer: bytes).contains("bye")
            context.writeAndFlush(wrapOutboundOut(bytes)).assumeIsolated().whenComplete { _ in
                if bye { context.close(promise: nil) }
            }
            return
        }
        pending += String(buffer: unwrapInboundIn(data))
        guard let headEnd = pending.range(of: "\r\n\r\n") else { return }
        let head = pending[..<headEnd.upperBound].lowercased()
        let body = pending[headEnd.upperBound...]
        if head.contains("transfer-encoding: chunked") {
            // The last chunk, then trailer fields (if any) and a blank line.
            guard body.hasPrefix("0\r\n") || body.contains("\r\n0\r\n"), body.hasSuffix("\r\n\r\n") else { return }
        } else if let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
            let length = Int(line.dropFirst(15).trimmingPrefix(" "))
        {
            guard body.utf8.count >= length else { return }
        }
        let request = pending
        pending = ""
        recorder.requests.withLock { $0.append(request) }
        let target = request.split(separator: " ").dropFirst().first.map(String.init) ?? "/"
        if target == "/ws" && head.contains("upgrade: websocket") {
            // Bytes the client sent after its head are the new protocol's already.
            let early = String(body)
            echoing = true
            context.write(
                wrapOutboundOut(
                    ByteBuffer(
                        string: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                            + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n" + early)),
                promise: nil)
            context.flush()
            return
        }
        let answer =
            ScriptedInstance.answers[target]
            ?? "HTTP/1.1 200 OK\r\nContent-Length: \(request.utf8.count)\r\n\r\n\(request)"
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: answer))).assumeIsolated().whenComplete { _ in
            if target == "/close" { context.close(promise: nil) }
        }
    }
}

@Suite("the gateway's HTTP/1 framing, against an instance that answers with scripted bytes")
struct GatewayFramingTests {
    /// A gateway in process with one route, `/f` (stripped) to the scripted instance.
    static func withGateway<Result>(
        limits: GatewayConfiguration.Limits = .init(), accessLog: GatewayConfiguration.AccessLog? = nil,
        _ body: (Int, ScriptedInstance) async throws -> Result
    ) async throws -> Result {
        let instance = try await ScriptedInstance()
        defer { instance.stop() }
        let registry = EmbeddedRegistry()
        _ = try await registry.register(
            try ServiceInstance(service: "scripted", id: "a", address: "127.0.0.1", port: instance.port),
            ttl: .seconds(300))
        let routes = try RouteTable([try GatewayRoute(prefix: "/f", service: "scripted", stripPrefix: true)])
        var configuration = try GatewayConfiguration(port: 0, threads: 1, routes: routes, limits: limits)
        configuration.balancer.outlierDetection = nil
        configuration.accessLog = accessLog
        let gateway = Gateway(configuration: configuration, discovery: registry)
        let group = ServiceGroup(
            services: [registry, gateway], gracefulShutdownSignals: [], logger: Logger(label: "test"))
        let serving = Task { try await group.run() }
        defer { serving.cancel() }
        let port = try await gateway.boundPort()
        // The route has its instance once the gateway has followed the registry.
        let routed = await eventually(within: 10) {
            (try? await blocking {
                let probe = try RawConnection(port: port, timeout: 2)
                probe.send("GET /f/record HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
                return probe.readResponse()?.status
            }) == 200
        }
        try #require(routed)
        return try await body(port, instance)
    }

    @Test("a chunked request goes on chunked, without its extensions, with the trailer fields that may go on")
    func chunkedRequest() async throws {
        try await Self.withGateway { port, instance in
            let answer = try await blocking {
                let connection = try RawConnection(port: port, timeout: 5)
                connection.send(
                    "POST /f/record HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                        + "3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nTrailer-Field: 1\r\nHost: b\r\nDigest: x\r\n\r\n")
                return connection.receive(endingWith: "Digest: x\r\n\r\n")
            }
            #expect(answer.hasPrefix("HTTP/1.1 200 OK\r\n"))
            let request = try #require(instance.requests.last)
            #expect(request.hasPrefix("POST /record HTTP/1.1\r\nHost: a\r\ntransfer-encoding: chunked\r\n"))
            #expect(request.hasSuffix("\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\nTrailer-Field: 1\r\nDigest: x\r\n\r\n"))
        }
    }

    @Test(
        "a chunked answer reaches the client chunked with the trailer fields that may go on; the connection carries the next request"
    )
    func chunkedResponse() async throws {
        try await Self.withGateway { port, _ in
            let (first, second) = try await blocking {
                let connection = try RawConnection(port: port, timeout: 5)
                connection.send("GET /f/chunked HTTP/1.1\r\nHost: a\r\n\r\n")
                let first = connection.receive(endingWith: "db;dur=53\r\n\r\n")
                connection.send("GET /f/record HTTP/1.1\r\nHost: a\r\n\r\n")
                return (first, connection.readResponse())
            }
            #expect(
                first.hasPrefix(
                    "HTTP/1.1 200 OK\r\nTrailer: X-T, Server-Timing\r\ntransfer-encoding: chunked\r\nx-request-id: "))
            #expect(
                first.hasSuffix("\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\nServer-Timing: db;dur=53\r\n\r\n"))
            #expect(second?.status == 200)

            // HTTP/1.0 reads the body to the close: it has no trailer section to carry them.
            let old = try await blocking {
                let connection = try RawConnection(port: port, timeout: 5)
                connection.send("GET /f/chunked HTTP/1.0\r\n\r\n")
                return String(decoding: connection.receive(), as: UTF8.self)
            }
            #expect(old.hasPrefix("HTTP/1.1 200 OK\r\n") && old.hasSuffix("\r\n\r\nhello world"))
        }
    }

    @Test("an answer framed by the close goes chunked to HTTP/1.1, and to its end with a close to HTTP/1.0")
    func untilClose() async throws {
        try await Self.withGateway { port, _ in
            let (modern, old, oldEnd) = try await blocking {
                let modern = try RawConnection(port: port, timeout: 5)
                modern.send("GET /f/close HTTP/1.1\r\nHost: a\r\n\r\n")
                let old = try RawConnection(port: port, timeout: 5)
                old.send("GET /f/close HTTP/1.0\r\n\r\n")
                let oldAnswer = old.receiveUntilClosed()
                return (
                    modern.receive(endingWith: "0\r\n\r\n"), String(decoding: oldAnswer.bytes, as: UTF8.self),
                    oldAnswer.end
                )
            }
            #expect(modern.hasPrefix("HTTP/1.1 200 OK\r\n") && modern.contains("transfer-encoding: chunked\r\n"))
            #expect(modern.hasSuffix("\r\n\r\nf\r\nuntil the close\r\n0\r\n\r\n"))
            #expect(old.hasPrefix("HTTP/1.1 200 OK\r\n") && old.contains("connection: close\r\n"))
            #expect(old.hasSuffix("\r\n\r\nuntil the close"))
            #expect(oldEnd == .closed)
        }
    }

    @Test("HEAD: the length passes through without a body; interim answers are dropped; a bad answer is 502")
    func headInterimAndBad() async throws {
        try await Self.withGateway { port, _ in
            let (head, next, early, bad) = try await blocking {
                let connection = try RawConnection(port: port, timeout: 5)
                connection.send("HEAD /f/head HTTP/1.1\r\nHost: a\r\n\r\n")
                let head = connection.receive(endingWith: "\r\n\r\n")
                connection.send("GET /f/early HTTP/1.1\r\nHost: a\r\n\r\n")
                let next = connection.readResponse()
                let bad = try RawConnection(port: port, timeout: 5)
                bad.send("GET /f/bad HTTP/1.1\r\nHost: a\r\n\r\n")
                return (head, next, next.map { String(decoding: $0.body, as: UTF8.self) }, bad.readResponse())
            }
            #expect(head.hasPrefix("HTTP/1.1 200 OK\r\n") && head.contains("content-length: 10\r\n"))
            #expect(next?.status == 200 && early == "ok")
            #expect(bad?.status == 502)
        }
    }

    @Test("Expect: 100-continue gets 100 Continue from the gateway; a bare LF gets 400 and a close")
    func continueAndBareLineFeed() async throws {
        try await Self.withGateway { port, instance in
            let (interim, final, bare) = try await blocking {
                let connection = try RawConnection(port: port, timeout: 5)
                connection.send(
                    "PUT /f/record HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
                let interim = connection.receive(endingWith: "\r\n\r\n")
                connection.send("body")
                let final = connection.readResponse()
                let bare = try RawConnection(port: port, timeout: 5)
                bare.send("GET /f/x HTTP/1.1\nHost: a\n\n")
                return (interim, final, String(decoding: bare.receive(), as: UTF8.self))
            }
            #expect(interim == "HTTP/1.1 100 Continue\r\n\r\n")
            #expect(final?.status == 200)
            #expect(instance.requests.last?.lowercased().contains("expect") == false)
            #expect(instance.requests.last?.hasSuffix("\r\n\r\nbody") == true)
            #expect(bare.hasPrefix("HTTP/1.1 400 Bad Request\r\n") && bare.contains("LF without CR"))
        }
    }

    @Test("a WebSocket handshake gets the instance's 101; then bytes go both ways as they are, until one side closes")
    func upgrade() async throws {
        try await Self.withGateway { port, instance in
            // Digits only, so the "end" that follows is the only one.
            let payload = String((0..<262_144).map { _ in "0123456789".randomElement()! })
            let (head, early, echoed, big, closed) = try await blocking {
                let connection = try RawConnection(port: port, timeout: 5)
                // The first bytes of the new protocol come right behind the head, before the 101.
                connection.send(
                    "GET /f/ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n"
                        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\nearly")
                // The echo of "early" may come in the same read as the 101's head.
                let answer = connection.receive(endingWith: "early")
                let headEnd = answer.range(of: "\r\n\r\n")?.upperBound ?? answer.endIndex
                let (head, early) = (String(answer[..<headEnd]), String(answer[headEnd...]))
                connection.send("hello through the tunnel")
                let echoed = connection.receive(endingWith: "tunnel")
                connection.send(payload + "end")
                let big = connection.receive(endingWith: "end")
                connection.send("bye")
                _ = connection.receive(endingWith: "bye")
                let rest = connection.receiveUntilClosed()
                return (head, early, echoed, big, rest.bytes.isEmpty && rest.end == .closed)
            }
            #expect(head.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"), "\(head)")
            #expect(head.contains("Upgrade: websocket\r\n") && head.contains("Connection: Upgrade\r\n"))
            #expect(
                head.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n")
                    && head.contains("x-request-id: "))
            #expect(!head.lowercased().contains("content-length") && !head.lowercased().contains("transfer-encoding"))
            #expect(early == "early")
            #expect(echoed == "hello through the tunnel")
            let whole = big == payload + "end"  // not printed: a quarter of a megabyte
            #expect(whole, "\(big.utf8.count) bytes came back of \(payload.utf8.count + 3)")
            #expect(closed)  // the instance closed after "bye": so did the gateway
            let request = try #require(instance.requests.first { $0.hasPrefix("GET /ws ") }).lowercased()
            #expect(request.contains("\r\nupgrade: websocket\r\n") && request.contains("\r\nconnection: upgrade\r\n"))
            #expect(request.contains("\r\nsec-websocket-key: dghlihnhbxbszsbub25jzq==\r\n"))
        }
    }

    @Test(
        "a 101 to a request that did not ask to switch protocols gets 502; Upgrade without Connection: upgrade is dropped"
    )
    func unaskedSwitch() async throws {
        try await Self.withGateway { port, instance in
            let status = try await blocking {
                let connection = try RawConnection(port: port, timeout: 5)
                connection.send("GET /f/switch HTTP/1.1\r\nHost: a\r\nUpgrade: other\r\n\r\n")
                return connection.readResponse()?.status
            }
            #expect(status == 502)
            let request = try #require(instance.requests.first { $0.hasPrefix("GET /switch ") }).lowercased()
            #expect(!request.contains("upgrade"), "\(request)")
        }
    }

    @Test("a tunnel that carries nothing for the tunnel idle timeout is closed; one that keeps talking stays open")
    func tunnelIdleTimeout() async throws {
        try await Self.withGateway(limits: .init(tunnelIdleTimeout: .seconds(1))) { port, _ in
            let handshake =
                "GET /f/ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            let (pings, echoes, idleClosedAfter) = try await blocking {
                let talker = try RawConnection(port: port, timeout: 5)
                let idle = try RawConnection(port: port, timeout: 10)
                talker.send(handshake)
                idle.send(handshake)
                _ = talker.receive(endingWith: "\r\n\r\n")
                _ = idle.receive(endingWith: "\r\n\r\n")
                let start = ContinuousClock.now
                // Two seconds of a byte every 300 ms: never a second without one.
                var (pings, echoes) = (0, 0)
                while ContinuousClock.now - start < .seconds(2) {
                    talker.send("ping")
                    pings += 1
                    if talker.receive(endingWith: "ping") == "ping" { echoes += 1 }
                    usleep(300_000)
                }
                // The idle one was closed about a second after its handshake: reading it now
                // finds the end soon (a connection still open would wait out the 10 s timeout).
                let reading = ContinuousClock.now
                let rest = idle.receive()
                return (pings, echoes, rest.isEmpty ? ContinuousClock.now - reading : nil)
            }
            #expect(pings >= 3 && echoes == pings, "\(echoes) of \(pings) pings came back")
            #expect(idleClosedAfter.map { $0 < .seconds(5) } == true, "\(String(describing: idleClosedAfter))")
        }
    }
}
