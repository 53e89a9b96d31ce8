import NIOCore
import NIOEmbedded
import NIOHPACK
import NIOHTTP2
import Testing

@testable import ShoalGateway

/// The connection's handler on an `EmbeddedChannel`, with a recorder for each stream's
/// exchange: HTTP/2 frames in, the HTTP/1.1 bytes the proxy handler would read out; the
/// proxy handler's HTTP/1.1 bytes in, frames out.
@Suite("an HTTP/2 stream as an HTTP/1.1 exchange, and back")
struct HTTP2ClientStreamTests {
    static let get: HPACKHeaders = [":method": "GET", ":scheme": "http", ":authority": "a", ":path": "/x"]
    static let post: HPACKHeaders = [":method": "POST", ":scheme": "http", ":authority": "a", ":path": "/up"]

    /// What a stream hands its exchange, as text, and whether it was told the stream closed.
    final class Recorder: HTTP2StreamExchange {
        let stream: HTTP2ClientStream
        var text = ""
        var closed = false
        /// What it was told of the stream's writability, in order.
        var writability: [Bool] = []
        init(stream: HTTP2ClientStream) { self.stream = stream }
        func receivedHead(_ head: RequestHead) { text += String(decoding: head.bytes, as: UTF8.self) }
        func received(_ bytes: ByteBuffer) { text += String(buffer: bytes) }
        func readComplete() {}
        func clientWritabilityChanged(_ writable: Bool) { writability.append(writable) }
        func clientClosed() { closed = true }
        var deadlines = 0
        func deadlinePassed() { deadlines += 1 }

        /// Writes `text` as the proxy handler's answer, and flushes.
        func answer(_ text: String) {
            stream.write(ByteBuffer(string: text))
            stream.flush()
        }

        /// Everything read so far, taken.
        func take() -> String {
            defer { text = "" }
            return text
        }
    }

    /// A connection, and the recorders of the streams it opened, by stream ID.
    final class Connection {
        let channel: EmbeddedChannel
        var recorders: [HTTP2StreamID: Recorder] = [:]
        /// The credit given back in window updates, by stream ID, as ``frames()`` read them.
        var credit: [HTTP2StreamID: Int] = [:]

        init() throws {
            let channel = EmbeddedChannel()
            self.channel = channel
            let handler = HTTP2ServerConnection(eventLoop: channel.eventLoop) { [unowned self] in
                let recorder = Recorder(stream: $0)
                self.recorders[$0.streamID] = recorder
                return recorder
            }
            try channel.pipeline.syncOperations.addHandler(handler)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        }

        /// A frame from the client on stream 1.
        func send(_ payload: HTTP2Frame.FramePayload) throws {
            try channel.writeInbound(HTTP2Frame(streamID: 1, payload: payload))
        }

        var stream: Recorder { recorders[1]! }

        /// The frames written, in order, but window updates.
        func frames() throws -> [HTTP2Frame.FramePayload] {
            var frames: [HTTP2Frame.FramePayload] = []
            while let frame = try channel.readOutbound(as: HTTP2Frame.self) {
                if case .windowUpdate(let increment) = frame.payload {
                    credit[frame.streamID, default: 0] += increment
                    continue
                }
                frames.append(frame.payload)
            }
            return frames
        }
    }

    /// `headers` with `fields` added.
    static func adding(_ fields: [(String, String)], to headers: HPACKHeaders) -> HPACKHeaders {
        var headers = headers
        headers.add(contentsOf: fields)
        return headers
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
        let channel = try Connection()
        try channel.send(.headers(.init(headers: Self.get, endStream: true)))
        #expect(channel.stream.take() == "GET /x HTTP/1.1\r\nhost: a\r\n\r\n")

        // Written in two pieces, as the proxy handler may: the head is read across them.
        channel.stream.answer("HTTP/1.1 200 OK\r\nContent-Le")
        channel.stream.answer("ngth: 2\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nX-Backend: b1\r\n\r\nhi")
        let frames = try channel.frames()
        #expect(frames.count == 2)
        let head = Self.headers(frames.first)
        #expect(head?.0[":status"] == ["200"])
        #expect(head?.0["x-backend"] == ["b1"], "names are lowercased")
        #expect(
            head?.0["connection"] == [] && head?.0["keep-alive"] == [], "fields of one HTTP/1.1 connection are dropped")
        #expect(head?.endStream == false)
        #expect(Self.data(frames[1])! == ("hi", true), "the body's last data ends the stream")

        // A body whose end comes in a later write ends with an empty DATA.
        let later = try Connection()
        try later.send(.headers(.init(headers: Self.get, endStream: true)))
        later.stream.answer("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n")
        later.stream.answer("0\r\n\r\n")
        let pieces = try later.frames()
        #expect(pieces.count == 3)
        #expect(Self.data(pieces[1])! == ("hi", false))
        #expect(Self.data(pieces[2])! == ("", true))
    }

    @Test(
        "a body of unknown length goes in chunks, its trailers as the trailer section; chunked trailers come back as HEADERS"
    )
    func trailers() throws {
        let channel = try Connection()
        try channel.send(.headers(.init(headers: Self.post)))
        try channel.send(.data(.init(data: .byteBuffer(ByteBuffer(string: "hello")))))
        try channel.send(.headers(.init(headers: ["x-sum": "5"], endStream: true)))
        #expect(
            channel.stream.take()
                == "POST /up HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nx-sum: 5\r\n\r\n"
        )

        channel.stream.answer(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\ngrpc-status: 0\r\n\r\n")
        let frames = try channel.frames()
        #expect(frames.count == 3)
        #expect(Self.headers(frames[0])?.0["transfer-encoding"] == [])
        #expect(Self.data(frames[1])! == ("abc", false))
        let trailers = Self.headers(frames[2])
        #expect(trailers?.0["grpc-status"] == ["0"])
        #expect(trailers?.endStream == true)
    }

    @Test("a HEAD's answer and a 204 end with their HEADERS; 100 Continue goes as an interim HEADERS")
    func noBody() throws {
        let head = try Connection()
        try head.send(
            .headers(
                .init(
                    headers: [":method": "HEAD", ":scheme": "http", ":authority": "a", ":path": "/"], endStream: true)))
        head.stream.answer("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n")
        let frames = try head.frames()
        #expect(frames.count == 1)
        #expect(Self.headers(frames.first)?.endStream == true)
        #expect(Self.headers(frames.first)?.0["content-length"] == ["9"])

        let post = try Connection()
        try post.send(.headers(.init(headers: Self.adding([("expect", "100-continue")], to: Self.post))))
        post.stream.answer("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n")
        let answers = try post.frames()
        #expect(answers.count == 2)
        #expect(Self.headers(answers[0])?.0[":status"] == ["100"])
        #expect(Self.headers(answers[0])?.endStream == false)
        #expect(Self.headers(answers[1])?.0[":status"] == ["204"])
        #expect(Self.headers(answers[1])?.endStream == true)
    }

    @Test("a request HTTP/1.1 cannot carry gets 400 from the stream, and the proxy handler never sees it")
    func refused() throws {
        let channel = try Connection()
        try channel.send(
            .headers(.init(headers: Self.adding([("x-a", "1\r\nx-injected: 1")], to: Self.get), endStream: true)))
        #expect(channel.stream.take() == "")
        let frames = try channel.frames()
        #expect(Self.headers(frames.first)?.0[":status"] == ["400"])
        #expect(Self.data(frames.last)?.endStream == true)
    }

    @Test("a close after the whole exchange waits for the stream to end itself; one mid-response resets it")
    func close() throws {
        let done = try Connection()
        try done.send(.headers(.init(headers: Self.get, endStream: true)))
        done.stream.answer("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        done.stream.stream.close()
        #expect(
            !done.stream.stream.isClosed && !done.stream.closed,
            "a reset would drop frames the peer's window holds back")
        #expect(try done.frames().count == 1, "the head, with END_STREAM, and no reset")

        // Answered before the request's body ended (a 413, say): the answer goes whole; the
        // rest of the body is dropped; past the linger limit, RST_STREAM(NO_ERROR) asks the
        // client to stop sending.
        let early = try Connection()
        try early.send(.headers(.init(headers: Self.post)))
        _ = early.stream.take()
        early.stream.answer("HTTP/1.1 413 Payload Too Large\r\nContent-Length: 3\r\n\r\nbig")
        early.stream.stream.close()
        #expect(!early.stream.stream.isClosed)
        #expect(try early.frames().count == 2, "the head, and the body with its end")
        let more = ByteBuffer(repeating: 0, count: HTTP2ClientStream.lingerBytes / 2 + 1)
        try early.send(.data(.init(data: .byteBuffer(more))))
        #expect(early.stream.take() == "", "body bytes after the answer are dropped")
        #expect(try early.frames().isEmpty)
        try early.send(.data(.init(data: .byteBuffer(more))))
        guard case .rstStream(let code) = try early.frames().last else {
            Issue.record("no reset after more than lingerBytes")
            return
        }
        #expect(code == .noError)

        let cut = try Connection()
        try cut.send(.headers(.init(headers: Self.get, endStream: true)))
        cut.stream.answer("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhal")
        cut.stream.stream.close()
        #expect(cut.stream.stream.isClosed && cut.stream.closed)
        guard case .rstStream(.cancel) = try cut.frames().last else {
            Issue.record("a response cut short ends in RST_STREAM(CANCEL)")
            return
        }
    }

    @Test("a paused exchange leaves the client's data waiting, and its credit with it; resumed, it gets both")
    func pausedReading() throws {
        let connection = try Connection()
        try connection.send(.headers(.init(headers: Self.post)))
        #expect(connection.stream.take().hasPrefix("POST /up HTTP/1.1\r\n"))
        connection.stream.stream.setReading(false)
        try connection.send(.data(.init(data: .byteBuffer(ByteBuffer(repeating: 0x61, count: 40_000)))))
        #expect(connection.stream.take() == "")
        _ = try connection.frames()
        #expect(connection.credit[1] == nil, "no credit for data the exchange did not read")

        connection.stream.stream.setReading(true)
        connection.channel.embeddedEventLoop.run()
        #expect(connection.stream.take().count > 40_000, "the data, in a chunk")
        _ = try connection.frames()
        #expect(connection.credit[1] == 40_000)
    }

    @Test("the stream is writable while the client's window has room: told when it runs out, and when it opens")
    func sendWindow() throws {
        let connection = try Connection()
        try connection.send(.headers(.init(headers: Self.get, endStream: true)))
        let body = String(repeating: "b", count: 70_000)
        connection.stream.answer("HTTP/1.1 200 OK\r\nContent-Length: 80000\r\n\r\n" + body)
        #expect(!connection.stream.stream.isWritable)
        #expect(connection.stream.writability == [false])
        try connection.send(.windowUpdate(windowSizeIncrement: 10_000))
        #expect(connection.stream.stream.isWritable)
        #expect(connection.stream.writability == [false, true])
    }

    @Test("a head the exchange gives as a header block goes as it is, with x-request-id; the body is read as framed")
    func headAsBlock() throws {
        let connection = try Connection()
        try connection.send(.headers(.init(headers: Self.get, endStream: true)))
        let instance = try ResponseHead(
            Array(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n"
                    .utf8))
        let stream = connection.stream.stream
        stream.writeHead(instance.http2ClientHeaders(requestID: "r-1"), framing: .length(2))
        stream.write(ByteBuffer(string: "hi"))
        stream.flush()
        let frames = try connection.frames()
        #expect(frames.count == 2)
        let head = Self.headers(frames.first)
        #expect(head?.0[":status"] == ["200"] && head?.0["content-type"] == ["text/plain"])
        #expect(head?.0["x-request-id"] == ["r-1"] && head?.0["connection"] == [])
        #expect(head?.endStream == false)
        #expect(Self.data(frames.last)! == ("hi", true))

        let empty = try Connection()
        try empty.send(.headers(.init(headers: Self.get, endStream: true)))
        empty.stream.stream.writeHead(instance.http2ClientHeaders(requestID: "r-2"), framing: nil)
        empty.stream.stream.flush()
        #expect(Self.headers(try empty.frames().first)?.endStream == true, "no body: the head ends the stream")
    }

    @Test("the connection keeps its streams' deadlines on one timer: each hears of its own, a cancelled one of none")
    func deadlines() throws {
        let connection = try Connection()
        for id in [1, 3, 5] {
            try connection.channel.writeInbound(
                HTTP2Frame(streamID: HTTP2StreamID(id), payload: .headers(.init(headers: Self.get, endStream: true))))
        }
        let handler = try connection.channel.pipeline.syncOperations.handler(type: HTTP2ServerConnection.self)
        let loop = connection.channel.embeddedEventLoop
        let start = loop.now
        let (a, b, c) = (connection.recorders[1]!, connection.recorders[3]!, connection.recorders[5]!)
        handler.schedule(a, at: start + .seconds(2))
        handler.schedule(b, at: start + .seconds(1))
        handler.schedule(c, at: start + .seconds(1))
        handler.cancelTimer(for: c)
        loop.advanceTime(by: .seconds(1))
        #expect(b.deadlines == 1 && a.deadlines == 0 && c.deadlines == 0)
        handler.schedule(b, at: start + .seconds(3))
        handler.schedule(b, at: start + .seconds(4))  // in place of the one before
        loop.advanceTime(by: .seconds(1))
        #expect(a.deadlines == 1 && b.deadlines == 1)
        loop.advanceTime(by: .seconds(1))
        #expect(b.deadlines == 1, "the deadline given last counts")
        loop.advanceTime(by: .seconds(1))
        #expect(b.deadlines == 2 && c.deadlines == 0)
    }
}
