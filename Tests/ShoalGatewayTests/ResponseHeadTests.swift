import NIOCore
import Testing

@testable import ShoalGateway

@Suite("response heads: status, framing, keep-alive, and the head the client gets")
struct ResponseHeadTests {
    func parse(_ text: String) throws -> ResponseHead {
        guard let bytes = HTTPHeadScanner.firstHead(in: ByteBuffer(string: text)) else {
            throw HTTPParseError("test: no whole head in \(text.debugDescription)")
        }
        return try ResponseHead(bytes)
    }

    @Test("the body's framing follows RFC 9112 §6.3")
    func framing() throws {
        let ok = try parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n")
        #expect(ok.status == 200 && ok.keepAlive && ok.bodyFraming(requestIsHead: false) == .length(2))
        #expect(ok.bodyFraming(requestIsHead: true) == nil)
        #expect(try parse("HTTP/1.1 204 No Content\r\n\r\n").bodyFraming(requestIsHead: false) == nil)
        #expect(
            try parse("HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n").bodyFraming(requestIsHead: false) == nil
        )
        let chunked = try parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n")
        #expect(chunked.bodyFraming(requestIsHead: false) == .chunked && chunked.keepAlive)
        let gzip = try parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n")
        #expect(gzip.bodyFraming(requestIsHead: false) == .untilClose)
        let both = try parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n")
        #expect(both.bodyFraming(requestIsHead: false) == .chunked && !both.keepAlive)
        let old = try parse("HTTP/1.0 200 OK\r\n\r\n")
        #expect(old.bodyFraming(requestIsHead: false) == .untilClose && !old.keepAlive)
        let bare = try parse("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n")
        #expect(bare.status == 200 && bare.reason.isEmpty)
        #expect(throws: HTTPParseError.self) { try parse("HTTP/1.1 2000 OK\r\n\r\n") }
        #expect(throws: HTTPParseError.self) {
            try parse("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")
        }
        #expect(throws: HTTPParseError.self) { try parse("ICY 200 OK\r\n\r\n") }
    }

    @Test("the client's head: hop-by-hop fields dropped, its own framing, the request id, keep-alive as needed")
    func clientHead() throws {
        let head = try parse(
            "HTTP/1.1 201 Created\r\nConnection: X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=3\r\n"
                + "Transfer-Encoding: chunked\r\nContent-Length: 7\r\nETag: \"v1\"\r\n\r\n")
        var buffer = ByteBuffer()
        head.writeClientHead(
            clientFraming: .chunked, requestID: "rid", keepAlive: true, clientMinorVersion: 1, to: &buffer)
        #expect(
            String(buffer: buffer)
                == "HTTP/1.1 201 Created\r\nETag: \"v1\"\r\ntransfer-encoding: chunked\r\nx-request-id: rid\r\n\r\n")

        let own = try parse("HTTP/1.1 200 OK\r\nX-Request-Id: theirs\r\nContent-Length: 2\r\n\r\n")
        var closing = ByteBuffer()
        own.writeClientHead(
            clientFraming: .length(2), requestID: "rid", keepAlive: false, clientMinorVersion: 1, to: &closing)
        #expect(
            String(buffer: closing)
                == "HTTP/1.1 200 OK\r\nX-Request-Id: theirs\r\ncontent-length: 2\r\nconnection: close\r\n\r\n")

        // Kept lines as they came, around dropped ones; an HTTP/1.0 or reason-less status
        // line is written anew.
        let mixed = try parse(
            "HTTP/1.0 404 Not Found\r\nA: 1 \r\nConnection: close\r\nB:\t2\r\nTransfer-Encoding: chunked\r\n"
                + "C: 3\r\n\r\n")
        var rewritten = ByteBuffer()
        mixed.writeClientHead(
            clientFraming: .chunked, requestID: "rid", keepAlive: true, clientMinorVersion: 1, to: &rewritten)
        #expect(
            String(buffer: rewritten)
                == "HTTP/1.1 404 Not Found\r\nA: 1 \r\nB:\t2\r\nC: 3\r\ntransfer-encoding: chunked\r\n"
                + "x-request-id: rid\r\n\r\n")
        var bare = ByteBuffer()
        try parse("HTTP/1.1 204\r\nX: y\r\n\r\n").writeClientHead(
            clientFraming: nil, requestID: "rid", keepAlive: true, clientMinorVersion: 1, to: &bare)
        #expect(String(buffer: bare) == "HTTP/1.1 204 \r\nX: y\r\nx-request-id: rid\r\n\r\n")

        var old = ByteBuffer()
        own.writeClientHead(
            clientFraming: .length(2), requestID: "rid", keepAlive: true, clientMinorVersion: 0, to: &old)
        #expect(String(buffer: old).hasSuffix("connection: keep-alive\r\n\r\n"))
    }
}
