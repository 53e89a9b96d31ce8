import NIOCore
import NIOEmbedded
import NIOHPACK
import NIOHTTP2
import Testing

@testable import ShoalGateway

/// The bridge on an `EmbeddedChannel`: HTTP/2 frames in, the HTTP/1.1 bytes the proxy
/// handler reads out; the proxy handler's HTTP/1.1 bytes in, frames out.
@Suite("an HTTP/2 stream as an HTTP/1.1 exchange, and back")
struct HTTP2StreamBridgeTests {
    static let get: HPACKHeaders = [":method": "GET", ":scheme": "http", ":authority": "a", ":path": "/x"]
    static let post: HPACKHeaders = [":method": "POST", ":scheme": "http", ":authority": "a", ":path": "/up"]

    /// `headers` with `fields` added.
    static func adding(_ fields: [(String, String)], to headers: HPACKHeaders) -> HPACKHeaders {
        var headers = headers
        headers.add(contentsOf: fields)
        return headers
    }

    static func channel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel(handler: HTTP2StreamBridge())
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    /// Everything the proxy handler would read, as text.
    static func inbound(_ channel: EmbeddedChannel) throws -> String {
        var text = ""
        while let buffer = try channel.readInbound(as: ByteBuffer.self) { text += String(buffer: buffer) }
        return text
    }

    /// The frames written, in order.
    static func outbound(_ channel: EmbeddedChannel) throws -> [HTTP2Frame.FramePayload] {
        var frames: [HTTP2Frame.FramePayload] = []
        while let frame = try channel.readOutbound(as: HTTP2Frame.FramePayload.self) { frames.append(frame) }
        return frames
    }

    static func headers(_ frame: HTTP2Frame.FramePayload?) -> (HPACKHeaders, endStream: Bool)? {
        guard case .headers(let headers) = frame else { return nil }
        return (headers.headers, headers.endStream)
    }

    static func data(_ frame: HTTP2Frame.FramePayload?) -> (String, endStream: Bool)? {
        guard case .data(let data) = frame, case .byteBuffer(let buffer) = data.data else { return nil }
        return (String(buffer: buffer), data.endStream)
    }

    @Test("a GET becomes a head; the response's head and body become HEADERS and DATA with END_STREAM")
    func get() throws {
        let channel = try Self.channel()
        try channel.writeInbound(HTTP2Frame.FramePayload.headers(.init(headers: Self.get, endStream: true)))
        #expect(try Self.inbound(channel) == "GET /x HTTP/1.1\r\nhost: a\r\n\r\n")

        // Written in two pieces, as the proxy handler may: the head is read across them.
        try channel.writeOutbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Le"))
        try channel.writeOutbound(
            ByteBuffer(string: "ngth: 2\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nX-Backend: b1\r\n\r\nhi"))
        let frames = try Self.outbound(channel)
        #expect(frames.count == 3)
        let head = Self.headers(frames.first)
        #expect(head?.0[":status"] == ["200"])
        #expect(head?.0["x-backend"] == ["b1"], "names are lowercased")
        #expect(head?.0["connection"] == [] && head?.0["keep-alive"] == [], "fields of one HTTP/1.1 connection are dropped")
        #expect(head?.endStream == false)
        #expect(Self.data(frames[1])! == ("hi", false))
        #expect(Self.data(frames[2])! == ("", true))
    }

    @Test("a body of unknown length goes in chunks, its trailers as the trailer section; chunked trailers come back as HEADERS")
    func trailers() throws {
        let channel = try Self.channel()
        try channel.writeInbound(HTTP2Frame.FramePayload.headers(.init(headers: Self.post)))
        try channel.writeInbound(HTTP2Frame.FramePayload.data(.init(data: .byteBuffer(ByteBuffer(string: "hello")))))
        try channel.writeInbound(HTTP2Frame.FramePayload.headers(.init(headers: ["x-sum": "5"], endStream: true)))
        #expect(
            try Self.inbound(channel)
                == "POST /up HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nx-sum: 5\r\n\r\n")

        try channel.writeOutbound(
            ByteBuffer(string: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\ngrpc-status: 0\r\n\r\n"))
        let frames = try Self.outbound(channel)
        #expect(frames.count == 3)
        #expect(Self.headers(frames[0])?.0["transfer-encoding"] == [])
        #expect(Self.data(frames[1])! == ("abc", false))
        let trailers = Self.headers(frames[2])
        #expect(trailers?.0["grpc-status"] == ["0"])
        #expect(trailers?.endStream == true)
    }

    @Test("a HEAD's answer and a 204 end with their HEADERS; 100 Continue goes as an interim HEADERS")
    func noBody() throws {
        let head = try Self.channel()
        try head.writeInbound(
            HTTP2Frame.FramePayload.headers(
                .init(headers: [":method": "HEAD", ":scheme": "http", ":authority": "a", ":path": "/"], endStream: true)))
        try head.writeOutbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n"))
        let frames = try Self.outbound(head)
        #expect(frames.count == 1)
        #expect(Self.headers(frames.first)?.endStream == true)
        #expect(Self.headers(frames.first)?.0["content-length"] == ["9"])

        let post = try Self.channel()
        try post.writeInbound(HTTP2Frame.FramePayload.headers(.init(headers: Self.adding([("expect", "100-continue")], to: Self.post))))
        try post.writeOutbound(ByteBuffer(string: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"))
        let answers = try Self.outbound(post)
        #expect(answers.count == 2)
        #expect(Self.headers(answers[0])?.0[":status"] == ["100"])
        #expect(Self.headers(answers[0])?.endStream == false)
        #expect(Self.headers(answers[1])?.0[":status"] == ["204"])
        #expect(Self.headers(answers[1])?.endStream == true)
    }

    @Test("a request HTTP/1.1 cannot carry gets 400 from the bridge, and the proxy handler never sees it")
    func refused() throws {
        let channel = try Self.channel()
        try channel.writeInbound(
            HTTP2Frame.FramePayload.headers(.init(headers: Self.adding([("x-a", "1\r\nx-injected: 1")], to: Self.get), endStream: true)))
        #expect(try Self.inbound(channel) == "")
        let frames = try Self.outbound(channel)
        #expect(Self.headers(frames.first)?.0[":status"] == ["400"])
        #expect(Self.data(frames.last)?.endStream == true)
    }

    @Test("a close after the whole exchange waits for the stream to end itself; one mid-response resets it")
    func close() throws {
        let done = try Self.channel()
        try done.writeInbound(HTTP2Frame.FramePayload.headers(.init(headers: Self.get, endStream: true)))
        try done.writeOutbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
        done.close(promise: nil)
        #expect(done.isActive, "closing would drop frames the peer's window holds back")

        // Answered before the request's body ended (a 413, say): the answer goes whole; the
        // rest of the body is dropped; past the linger limit, RST_STREAM(NO_ERROR) asks the
        // client to stop sending.
        let early = try Self.channel()
        try early.writeInbound(HTTP2Frame.FramePayload.headers(.init(headers: Self.post)))
        _ = try Self.inbound(early)
        try early.writeOutbound(ByteBuffer(string: "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 3\r\n\r\nbig"))
        early.close(promise: nil)
        #expect(early.isActive)
        #expect(try Self.outbound(early).count == 3, "the head, the body, the end")
        let more = ByteBuffer(repeating: 0, count: HTTP2StreamBridge.lingerBytes / 2 + 1)
        try early.writeInbound(HTTP2Frame.FramePayload.data(.init(data: .byteBuffer(more))))
        #expect(try Self.inbound(early) == "", "body bytes after the answer are dropped")
        #expect(try Self.outbound(early).isEmpty)
        try early.writeInbound(HTTP2Frame.FramePayload.data(.init(data: .byteBuffer(more))))
        guard case .rstStream(let code) = try Self.outbound(early).last else {
            Issue.record("no reset after more than lingerBytes")
            return
        }
        #expect(code == .noError)

        let cut = try Self.channel()
        try cut.writeInbound(HTTP2Frame.FramePayload.headers(.init(headers: Self.get, endStream: true)))
        try cut.writeOutbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhal"))
        cut.close(promise: nil)
        #expect(!cut.isActive)
    }
}
