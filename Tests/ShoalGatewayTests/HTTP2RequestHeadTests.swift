import NIOCore
import NIOHPACK
import Testing

@testable import ShoalGateway

@Suite("an HTTP/2 request's header block as an HTTP/1.1 head")
struct HTTP2RequestHeadTests {
    static func translate(_ fields: [(String, String)], endStream: Bool = true) throws(HTTPParseError)
        -> HTTP2RequestHead
    {
        try HTTP2RequestHead(HPACKHeaders(fields), endStream: endStream)
    }

    static func text(_ head: HTTP2RequestHead) -> String { String(decoding: head.head.bytes, as: UTF8.self) }

    static let get = [
        (":method", "GET"), (":scheme", "https"), (":authority", "shop.example:8443"), (":path", "/a?b=c"),
    ]

    @Test("the pseudo-headers make the request line and Host; split cookies are joined; the head parses")
    func requestLine() throws {
        let head = try Self.translate(Self.get + [("cookie", "a=1"), ("accept", "*/*"), ("cookie", "b=2")])
        #expect(
            Self.text(head)
                == "GET /a?b=c HTTP/1.1\r\nhost: shop.example:8443\r\naccept: */*\r\ncookie: a=1; b=2\r\n\r\n")
        #expect(!head.chunked && !head.isHead)
        let parsed = try RequestHead(head.head.bytes)
        #expect(parsed.host == "shop.example:8443")
        #expect(!parsed.hasBody)
    }

    /// What the exchange reads of a head, as text.
    static func summary(_ head: RequestHead) -> String {
        let fields = head.fields.map { "\($0.name) \($0.value) \($0.kind)" }
        return "\(head.method) \(head.target) \(head.minorVersion) \(fields) \(String(describing: head.contentLength)) "
            + "\(head.chunked) \(head.keepAlive) \(head.expectsContinue) \(head.connectionNames) \(head.isUpgrade)"
    }

    @Test(
        "the head found as it is written is the head its bytes parse to",
        arguments: [
            get,
            get + [("x-request-id", "r1"), ("User-Agent", "curl"), ("te", "trailers"), ("expect", "100-continue")],
            [(":method", "POST"), (":authority", "a"), (":path", "/p"), ("content-length", "5"), ("cookie", "a=1")],
            [(":method", "POST"), (":authority", "a"), (":path", "/p")],
            [(":method", "PUT"), (":path", "/"), ("host", "h"), ("x-forwarded-for", "1.2.3.4"), ("accept", "")],
        ])
    func foundAsWritten(fields: [(String, String)]) throws {
        for endStream in [true, false] {
            let head = try Self.translate(fields, endStream: endStream)
            #expect(Self.summary(head.head) == Self.summary(try RequestHead(head.head.bytes)))
        }
    }

    @Test("a body with no declared length goes in chunks; a declared one as it is; an empty POST says length 0")
    func framing() throws {
        let post = [(":method", "POST"), (":authority", "a"), (":path", "/p")]
        let open = try Self.translate(post, endStream: false)
        #expect(open.chunked)
        #expect(Self.text(open).hasSuffix("transfer-encoding: chunked\r\n\r\n"))
        let sized = try Self.translate(post + [("content-length", "5")], endStream: false)
        #expect(!sized.chunked)
        #expect(!Self.text(sized).contains("transfer-encoding"))
        #expect(Self.text(try Self.translate(post)).hasSuffix("content-length: 0\r\n\r\n"))
        #expect(try Self.translate([(":method", "HEAD"), (":authority", "a"), (":path", "/")]).isHead)
        // Without :authority, a Host field names the host; with both, :authority wins.
        #expect(
            Self.text(try Self.translate([(":method", "GET"), (":path", "/"), ("host", "h")])).contains("host: h\r\n"))
        #expect(!Self.text(try Self.translate(Self.get + [("host", "other")])).contains("other"))
    }

    @Test(
        "bytes that would end a line or a field in HTTP/1.1 are refused, never written",
        arguments: [
            [("x-a", "1\r\nx-injected: yes")], [("x-a", "1\ninjected")], [("x-a", "nul\u{0}")], [("x-a", " padded")],
            [("bad name", "1")], [(":protocol", "websocket")], [("transfer-encoding", "chunked")],
            [("connection", "content-length")], [("upgrade", "h2c")], [("keep-alive", "5")], [("te", "gzip")],
        ])
    func refused(_ extra: [(String, String)]) {
        #expect(throws: HTTPParseError.self) { try Self.translate(Self.get + extra) }
    }

    @Test(
        "a request line or Host that HTTP/1.1 cannot carry is refused",
        arguments: [
            [(":method", "GET"), (":authority", "a"), (":path", "/a b")],
            [(":method", "GE T"), (":authority", "a"), (":path", "/")],
            [(":method", "GET"), (":authority", "a"), (":path", "relative")],
            [(":method", "GET"), (":authority", "a/b"), (":path", "/")],
            [(":method", "GET"), (":authority", "a"), ("x", "y")],
            [(":method", "CONNECT"), (":authority", "a:443")],
        ])
    func refusedLine(_ fields: [(String, String)]) {
        #expect(throws: HTTPParseError.self) { try Self.translate(fields) }
    }

    @Test("trailers end a chunked body as its trailer section")
    func trailers() throws {
        let end = try HTTP2RequestHead.lastChunk(trailers: ["grpc-status": "0", "x-sum": "abc"], allocator: .init())
        #expect(String(buffer: end) == "0\r\ngrpc-status: 0\r\nx-sum: abc\r\n\r\n")
        #expect(throws: HTTPParseError.self) {
            try HTTP2RequestHead.lastChunk(trailers: ["x-a": "1\r\n\r\nGET / HTTP/1.1"], allocator: .init())
        }
    }
}
