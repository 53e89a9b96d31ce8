import NIOCore
import Testing

@testable import ShoalGateway

@Suite("request heads: found in pieces, parsed strictly, rewritten for the instance")
struct RequestHeadTests {
    static let request = "GET /api/x?y=1 HTTP/1.1\r\nHost: example.com:8080\r\nAccept: */*\r\n\r\n"

    /// The head at the start of `text`, parsed.
    func parse(_ text: String) throws(HTTPParseError) -> RequestHead {
        guard let bytes = HTTPHeadScanner.firstHead(in: ByteBuffer(string: text)) else {
            throw HTTPParseError("test: no whole head in \(text.debugDescription)")
        }
        return try RequestHead(bytes)
    }

    func refusal(_ text: String) -> HTTPParseError? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return error
        }
    }

    @Test("the scanner finds a head's end whatever pieces its bytes arrive in, and skips empty lines before it")
    func scannerPieces() {
        let bytes = Array(("\r\n" + Self.request + "GET /next").utf8)
        for cut in 1..<bytes.count {
            var scanner = HTTPHeadScanner()
            var buffer = ByteBuffer(bytes: bytes[..<cut])
            var result = scanner.scan(buffer)
            buffer.writeBytes(bytes[cut...])
            if result == .incomplete { result = scanner.scan(buffer) }
            #expect(result == .complete(skip: 2, length: Self.request.utf8.count), "cut at \(cut)")
        }
        var scanner = HTTPHeadScanner()
        #expect(scanner.scan(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: a\r\n")) == .incomplete)
        var bare = HTTPHeadScanner()
        #expect(bare.scan(ByteBuffer(string: "GET / HTTP/1.1\nHost: a\r\n\r\n")) == .bareLineFeed)
    }

    @Test("method, target, version, fields and what they say")
    func parses() throws {
        let head = try parse(Self.request)
        #expect(head.methodName == "GET" && head.targetString == "/api/x?y=1" && head.minorVersion == 1)
        #expect(head.host == "example.com:8080")
        #expect(head.fields.map(\.kind) == [.host, .other])
        #expect(head.keepAlive && !head.hasBody && !head.isHead)
        #expect(head.value(named: "accept") == "*/*")

        let post = try parse(
            "POST /p HTTP/1.1\r\nhost: a\r\nCONTENT-LENGTH:  12 \r\nConnection: close\r\nExpect: 100-Continue\r\n\r\n")
        #expect(
            post.contentLength == 12 && post.hasBody && !post.keepAlive && post.expectsContinue)
        let old = try parse("GET / HTTP/1.0\r\n\r\n")
        #expect(old.minorVersion == 0 && !old.keepAlive)
        #expect(try parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keepAlive)
        #expect(try parse("PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n").chunked)
        #expect(try parse("PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 4, 4\r\n\r\n").contentLength == 4)
    }

    @Test("malformed heads and ambiguous framing are refused, each with its reason")
    func refusals() {
        let cases: [(String, String, Int)] = [
            ("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", "obsolete line folding", 400),
            ("GET / HTTP/1.1\r\nHost : a\r\n\r\n", "field name", 400),
            ("GET / HTTP/1.1\r\nHost: a\u{1}b\r\n\r\n", "control byte", 400),
            ("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", "CRLF", 400),
            ("GET / HTTP/2.0\r\nHost: a\r\n\r\n", "not supported", 505),
            ("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", "CRLF", 400),
            ("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", "target", 400),
            ("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", "version", 400),
            ("GET /é HTTP/1.1\r\nHost: a\r\n\r\n", "target", 400),
            ("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", "request line", 400),
            ("GET / HTTP/1.1\r\n\r\n", "needs a Host", 400),
            ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "more than one Host", 400),
            ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", "smuggling", 400),
            ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "chunked alone", 400),
            (
                "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
                "chunked alone", 400
            ),
            ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", "one number", 400),
            ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", "one number", 400),
            ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1e3\r\n\r\n", "one number", 400),
            ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", "one number", 400),
            ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", "one number", 400),
            ("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", "HTTP/1.0", 400),
        ]
        for (text, reason, status) in cases {
            let error = refusal(text)
            #expect(error?.status == status, "\(text.debugDescription): \(error?.message ?? "accepted")")
            #expect(
                error?.message.contains(reason) == true, "\(text.debugDescription): \(error?.message ?? "accepted")")
        }
    }

    @Test("the instance's head: hop-by-hop fields dropped, forwarding fields set, trace context replaced")
    func upstreamHead() throws {
        let head = try parse(
            "POST /api/orders/7 HTTP/1.1\r\nHost: shop\r\nConnection: keep-alive, X-Drop\r\nX-Drop: 1\r\n"
                + "Keep-Alive: timeout=5\r\nTE: trailers\r\nUpgrade: h2c\r\nProxy-Authorization: x\r\n"
                + "X-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Proto: https\r\nX-Request-Id: mine\r\n"
                + "traceparent: old\r\nExpect: 100-continue\r\nContent-Length: 3\r\nAccept:  text/plain \r\n\r\n")
        var buffer = ByteBuffer()
        head.writeUpstreamHead(
            target: "/7", hostIfMissing: "orders", clientIP: "127.0.0.1", requestID: "rid",
            traceFields: [("traceparent", "new")], to: &buffer)
        let text = String(buffer: buffer)
        #expect(
            text == "POST /7 HTTP/1.1\r\nHost: shop\r\nAccept:  text/plain \r\ncontent-length: 3\r\n"
                + "x-forwarded-for: 10.0.0.1, 127.0.0.1\r\nx-forwarded-proto: http\r\nx-forwarded-host: shop\r\n"
                + "x-request-id: rid\r\ntraceparent: new\r\n\r\n")

        let chunked = try parse("PUT /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n")
        var second = ByteBuffer()
        chunked.writeUpstreamHead(
            target: "/a", hostIfMissing: "s", clientIP: nil, requestID: "r", traceFields: [], to: &second)
        #expect(
            String(buffer: second)
                == "PUT /a HTTP/1.1\r\nHost: h\r\ntransfer-encoding: chunked\r\nx-forwarded-proto: http\r\n"
                + "x-forwarded-host: h\r\nx-request-id: r\r\n\r\n")

        // HTTP/1.1 needs a Host: an HTTP/1.0 request without one gets the service's name.
        let old = try parse("GET /b HTTP/1.0\r\n\r\n")
        var third = ByteBuffer()
        old.writeUpstreamHead(
            target: "/b", hostIfMissing: "orders", clientIP: nil, requestID: "r", traceFields: [], to: &third)
        #expect(
            String(buffer: third)
                == "GET /b HTTP/1.1\r\nhost: orders\r\nx-forwarded-proto: http\r\nx-request-id: r\r\n\r\n")
    }

    @Test("X-Forwarded-Client-Cert passes as it came, unless the gateway describes the certificate itself")
    func clientCertificateField() throws {
        let head = try parse("GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-Client-Cert: Hash=forged\r\nZ: z\r\n\r\n")
        #expect(head.fields.map(\.kind) == [.host, .forwardedClientCert, .other])
        var passed = ByteBuffer()
        head.writeUpstreamHead(
            target: "/", hostIfMissing: "s", clientIP: nil, requestID: "r", traceFields: [], to: &passed)
        #expect(
            String(buffer: passed).hasPrefix(
                "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-Client-Cert: Hash=forged\r\nZ: z\r\n"))
        var replaced = ByteBuffer()
        head.writeUpstreamHead(
            target: "/", hostIfMissing: "s", clientIP: nil, requestID: "r", traceFields: [],
            clientCertificate: "Hash=ab;DNS=c", replacesClientCertificate: true, to: &replaced)
        #expect(
            String(buffer: replaced)
                == "GET / HTTP/1.1\r\nHost: a\r\nZ: z\r\nx-forwarded-client-cert: Hash=ab;DNS=c\r\n"
                + "x-forwarded-proto: http\r\nx-forwarded-host: a\r\nx-request-id: r\r\n\r\n")
        // A client without a certificate: the field it sent is dropped, and none is set.
        var dropped = ByteBuffer()
        head.writeUpstreamHead(
            target: "/", hostIfMissing: "s", clientIP: nil, requestID: "r", traceFields: [],
            replacesClientCertificate: true, to: &dropped)
        #expect(!String(buffer: dropped).lowercased().contains("x-forwarded-client-cert"))
    }

    @Test("kept field lines go on as they came, in order, around the dropped ones; the request line too when it can")
    func keptLines() throws {
        let head = try parse(
            "GET /x?q=1 HTTP/1.1\r\nhost: h \r\nConnection: x-a\r\nX-A: 1\r\nAccept: */*\r\nB:\r\n"
                + "X-Forwarded-For: 10.0.0.9\r\nUser-Agent:\tu\t\r\nKeep-Alive: 5\r\nZ: z\r\n\r\n")
        var buffer = ByteBuffer()
        head.writeUpstreamHead(
            target: "/x?q=1", hostIfMissing: "s", clientIP: "127.0.0.1", requestID: "r", traceFields: [], to: &buffer)
        #expect(
            String(buffer: buffer)
                == "GET /x?q=1 HTTP/1.1\r\nhost: h \r\nAccept: */*\r\nB:\r\nUser-Agent:\tu\t\r\nZ: z\r\n"
                + "x-forwarded-for: 10.0.0.9, 127.0.0.1\r\nx-forwarded-proto: http\r\nx-forwarded-host: h\r\n"
                + "x-request-id: r\r\n\r\n")

        // Host is end to end: a Connection option naming it does not drop it.
        var named = ByteBuffer()
        try parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: host, x-b\r\nX-B: 1\r\n\r\n").writeUpstreamHead(
            target: "/", hostIfMissing: "s", clientIP: nil, requestID: "r", traceFields: [], to: &named)
        #expect(String(buffer: named).hasPrefix("GET / HTTP/1.1\r\nHost: a\r\nx-forwarded-proto: http\r\n"))

        // A rewritten target, or another version, makes a new request line.
        var stripped = ByteBuffer()
        head.writeUpstreamHead(
            target: "/", hostIfMissing: "s", clientIP: nil, requestID: "r", traceFields: [], to: &stripped)
        #expect(String(buffer: stripped).hasPrefix("GET / HTTP/1.1\r\nhost: h \r\nAccept"))
        let old = try parse("GET /x HTTP/1.0\r\nHost: h\r\n\r\n")
        var upgraded = ByteBuffer()
        old.writeUpstreamHead(
            target: "/x", hostIfMissing: "s", clientIP: nil, requestID: "r", traceFields: [], to: &upgraded)
        #expect(String(buffer: upgraded).hasPrefix("GET /x HTTP/1.1\r\nHost: h\r\n"))
    }

    @Test(
        "a request asks to switch protocols with Connection: upgrade and an Upgrade field, in HTTP/1.1, without a body")
    func upgrade() throws {
        let websocket = try parse(
            "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n"
                + "Sec-WebSocket-Key: k\r\n\r\n")
        #expect(websocket.isUpgrade)
        var buffer = ByteBuffer()
        websocket.writeUpstreamHead(
            target: "/ws", hostIfMissing: "s", clientIP: nil, requestID: "r", traceFields: [], to: &buffer)
        #expect(
            String(buffer: buffer)
                == "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k\r\nconnection: upgrade\r\n"
                + "x-forwarded-proto: http\r\nx-forwarded-host: h\r\nx-request-id: r\r\n\r\n")
        let notAsked = [
            "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n",  // no Connection: upgrade
            "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\n\r\n",  // no Upgrade
            "GET /ws HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",  // HTTP/1.0
            "POST /ws HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\nUpgrade: x\r\nContent-Length: 2\r\n\r\n",
        ]
        for text in notAsked {
            let head = try parse(text)
            #expect(!head.isUpgrade, "\(text)")
            var forwarded = ByteBuffer()
            head.writeUpstreamHead(
                target: "/ws", hostIfMissing: "s", clientIP: nil, requestID: "r", traceFields: [], to: &forwarded)
            #expect(!String(buffer: forwarded).lowercased().contains("upgrade"), "\(text)")
        }
    }
}
