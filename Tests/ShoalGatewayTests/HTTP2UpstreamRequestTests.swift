import NIOCore
import NIOHPACK
import NIOHTTP2
import Testing

@testable import ShoalGateway

/// The exchange's HTTP/1.1 bytes as an h2c stream's frames, and an h2c instance's answer as
/// the head the exchange reads: values, no I/O.
@Suite("h2c upstreams: requests as frames, answers as heads")
struct HTTP2UpstreamRequestTests {
    static func frames(_ pieces: [String], acceptsTrailers: Bool = false) throws -> [HTTP2Frame.FramePayload] {
        var request = HTTP2UpstreamRequest(acceptsTrailers: acceptsTrailers)
        var frames: [HTTP2Frame.FramePayload] = []
        for piece in pieces { try request.read(ByteBuffer(string: piece), into: &frames) }
        return frames
    }

    @Test("a GET is one HEADERS frame that ends the stream, with no field of one HTTP/1.1 connection")
    func get() throws {
        let frames = try Self.frames([
            "GET /a?b=1 HTTP/1.1\r\nHost: svc:80\r\nConnection: x-gone\r\nX-Gone: 1\r\nKeep-Alive: 5\r\nX-Kept: yes\r\n\r\n"
        ])
        guard frames.count == 1, case .headers(let headers) = frames[0] else {
            Issue.record("not one HEADERS frame: \(frames)")
            return
        }
        #expect(headers.endStream)
        let fields = headers.headers
        #expect(fields.first(name: ":method") == "GET")
        #expect(fields.first(name: ":scheme") == "http")
        #expect(fields.first(name: ":authority") == "svc:80")
        #expect(fields.first(name: ":path") == "/a?b=1")
        #expect(fields.first(name: "x-kept") == "yes")
        for gone in ["host", "connection", "x-gone", "keep-alive", "te"] { #expect(!fields.contains(name: gone), "\(gone)") }
    }

    @Test("a chunked body, in any pieces, becomes DATA frames and its trailers the last HEADERS; te: trailers is kept")
    func chunkedWithTrailers() throws {
        let frames = try Self.frames(
            [
                "POST /p HTTP/1.1\r\nHost: s\r\ncontent-type: application/grpc\r\nTE: trailers\r\n",
                "Transfer-Encoding: chunked\r\n\r\n5\r\nhel", "lo\r\n", "3\r\nabc\r\n0\r\ngrpc-x: 1\r\n\r\n",
            ], acceptsTrailers: true)
        var data = ""
        var last: HPACKHeaders?
        for frame in frames {
            switch frame {
            case .headers(let headers) where headers.endStream: last = headers.headers
            case .headers(let headers):
                #expect(headers.headers.first(name: "te") == "trailers")
                #expect(!headers.headers.contains(name: "transfer-encoding"))
            case .data(let body):
                if case .byteBuffer(let bytes) = body.data { data += String(buffer: bytes) }
                #expect(!body.endStream)
            default: Issue.record("unexpected frame \(frame)")
            }
        }
        #expect(data == "helloabc")
        #expect(last?.first(name: "grpc-x") == "1")
    }

    @Test("a body by length: its last DATA frame ends the stream, with no empty frame after it")
    func lengthBody() throws {
        let frames = try Self.frames(["PUT /p HTTP/1.1\r\nHost: s\r\nContent-Length: 4\r\n\r\nab", "cd"])
        guard case .data(let end) = frames.last, case .byteBuffer(let bytes) = end.data else {
            Issue.record("no DATA last")
            return
        }
        #expect(end.endStream && String(buffer: bytes) == "cd")
        #expect(frames.count == 3)
        let whole = try Self.frames(["POST /p HTTP/1.1\r\nHost: s\r\nContent-Length: 4\r\n\r\nabcd"])
        #expect(whole.count == 2)
        guard case .data(let only) = whole.last else { return }
        #expect(only.endStream)
    }

    @Test("an answer's header block becomes an HTTP/1.1 head; a status-only answer gets content-length: 0")
    func responseHead() throws {
        var headers: HPACKHeaders = [":status": "200", "content-type": "application/grpc", "grpc-status": "5"]
        let head = try ResponseHead(http2: headers, endStream: true)
        #expect(head.status == 200 && head.contentLength == 0 && head.grpcStatus == 5)
        headers.replaceOrAdd(name: "content-length", value: "7")
        #expect(try ResponseHead(http2: headers, endStream: false).contentLength == 7)
    }

    @Test(
        "an answer HTTP/1.1 cannot carry is refused",
        arguments: [
            [(":status", "20x")], [(":status", "200"), ("x-a", "1\r\nx-b: 2")], [(":status", "200"), ("connection", "close")],
            [(":status", "200"), ("transfer-encoding", "chunked")], [(":status", "200"), ("bad name", "1")],
        ])
    func refused(fields: [(String, String)]) {
        #expect(throws: HTTPParseError.self) { try ResponseHead(http2: HPACKHeaders(fields)) }
    }

    @Test("trailer blocks become trailer fields; a pseudo-field in them is refused")
    func trailers() throws {
        let trailers = try HTTPFieldList(http2Trailers: ["grpc-status": "0", "grpc-message": "ok"])
        #expect(trailers.grpcStatus == 0)
        #expect(throws: HTTPParseError.self) { try HTTPFieldList(http2Trailers: [":status": "200"]) }
    }
}
