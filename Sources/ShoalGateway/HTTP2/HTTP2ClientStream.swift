import NIOCore
import NIOHPACK
import NIOHTTP2

/// One stream a client opened on an HTTP/2 connection to the gateway: it makes the stream one
/// HTTP/1.1 exchange for the ``HTTP2StreamExchange`` it serves (a ``ProxyHandler``), and makes
/// that exchange's answer the stream's response.
///
/// A stream has no channel of its own: its frames come from, and go through, its
/// ``HTTP2ServerConnection``, which hands it the client's frames for its ID. (A channel per
/// stream, swift-nio-http2's multiplexer, cost about as much again as the rest of a proxied
/// request.)
///
/// Inbound, the request's `HEADERS` become an HTTP/1.1 head (``HTTP2RequestHead``), given to
/// the exchange with its fields found as it was written; its `DATA` become the body (in
/// chunks when it declared no length), and a trailing `HEADERS` the chunked body's trailer
/// section. Outbound, the exchange gives the instance's head as a header block
/// (``writeHead(_:framing:)``), and the body as it frames it for HTTP/1.1, which is read back
/// into `DATA` and, for a chunked body with trailer fields, a trailing `HEADERS`; the
/// gateway's own answers come as HTTP/1.1 bytes, read back whole. So an HTTP/2 request goes
/// through the same exchange as an HTTP/1.1 one — routing, limits, balancing, retries,
/// timeouts, the access log, metrics and spans.
///
/// Flow control: the stream gives the client's credit back as the exchange reads its data.
/// When the exchange stops reading, the client's frames wait here with their credit, so the
/// client's window holds it back. The stream is writable while the client's window for it
/// has room and the connection's socket takes more.
final class HTTP2ClientStream {
    let streamID: HTTP2StreamID
    /// The connection the stream is on.
    let connection: HTTP2ServerConnection
    /// What serves the request, until the stream closes.
    var exchange: (any HTTP2StreamExchange)?

    /// Whether the request's head came, whether its body goes in chunks, and whether it ended.
    private var sawHead = false
    private var requestChunked = false
    private var requestIsHead = false
    private(set) var requestEnded = false

    /// Response bytes written and not yet read.
    private var outbound = ByteBuffer()
    private var heads = ResponseHeadReader()
    /// The response's body, while one is being read.
    private var body: HTTPBodyDecoder?
    /// Set once the response's last frame (with `END_STREAM`) was made, and then the future
    /// of its write: it completes once the frame has left the stream, past flow control.
    private(set) var responseEnded = false
    private var responseEndWritten: EventLoopFuture<Void>?
    /// Set once the response is whole while the request's body still comes: the rest of the
    /// body is read and dropped, as nginx does, up to ``lingerBytes`` or ``lingerTime``.
    private var discarding = false
    private var discarded = 0
    private var lingerTimer: Scheduled<Void>?
    /// How much of a body, and for how long, is dropped after the answer before the stream
    /// is reset (`NO_ERROR`) to stop the client sending it.
    static let lingerBytes = 1 << 20
    static let lingerTime = TimeAmount.seconds(5)
    /// Frames made and not yet flushed, the response's last with the promise of its write.
    private var unflushed: [(HTTP2Frame.FramePayload, EventLoopPromise<Void>?)] = []

    /// The client's frames that came while reading was paused, in order.
    private var heldFrames: [HTTP2Frame.FramePayload] = []
    private var paused = false
    /// The stream's receive window: credit for the client's data, given back as it is read.
    private var receiveWindow = HTTP2ReceiveWindow(size: HTTP2ServerConnection.streamWindow)
    /// How much of the response's data the client's window takes now.
    private(set) var sendWindow: Int
    /// Whether the exchange was last told the stream is writable.
    private var toldWritable = true
    /// Set once the stream closed, or was reset.
    private(set) var isClosed = false
    /// Whether a frame came for the stream in the connection's current read.
    var readPending = false

    init(streamID: HTTP2StreamID, connection: HTTP2ServerConnection, sendWindow: Int) {
        self.streamID = streamID
        self.connection = connection
        self.sendWindow = sendWindow
    }

    /// The client's connection.
    var connectionChannel: (any Channel)? { connection.channel }

    /// Whether the client takes more of the response now.
    var isWritable: Bool { sendWindow > 0 && connection.isWritable }

    // MARK: The request

    /// A frame of the client's. While reading is paused, its header blocks and data wait;
    /// its window updates do not, since they are about the response.
    func received(_ payload: HTTP2Frame.FramePayload) {
        switch payload {
        case .headers, .data:
            if (paused && !discarding) || !heldFrames.isEmpty {
                heldFrames.append(payload)
                return
            }
            handle(payload)
        case .windowUpdate(let increment):
            sendWindowChanged(by: increment)
        default:
            break  // resets close the stream: the connection hears of it from the codec
        }
    }

    private func handle(_ payload: HTTP2Frame.FramePayload) {
        switch payload {
        case .headers(let headers):
            if discarding {
                if headers.endStream { stopDiscarding(reset: false) }
            } else if sawHead {
                requestTrailers(headers.headers)
            } else {
                requestHead(headers)
            }
        case .data(let data):
            if !data.endStream,
                let increment = receiveWindow.used(
                    HTTP2ReceiveWindow.flowControlledLength(bytes: data.data.readableBytes, padding: data.paddingBytes))
            {
                connection.windowUpdate(streamID, increment: increment)
            }
            guard sawHead, case .byteBuffer(let buffer) = data.data else { return }
            if discarding {
                discarded += buffer.readableBytes
                if data.endStream || discarded > Self.lingerBytes {
                    stopDiscarding(reset: !data.endStream)
                }
                return
            }
            guard !requestEnded else { return }
            if buffer.readableBytes > 0 {
                exchange?.received(requestChunked ? ChunkedEncoding.chunk(buffer, allocator: Self.allocator) : buffer)
            }
            if data.endStream { endRequest(with: ChunkedEncoding.lastChunk) }
        default:
            break
        }
    }

    private static let allocator = ByteBufferAllocator()

    private func requestHead(_ headers: HTTP2Frame.FramePayload.Headers) {
        sawHead = true
        do {
            let head = try HTTP2RequestHead(headers.headers, endStream: headers.endStream)
            requestChunked = head.chunked
            requestIsHead = head.isHead
            requestEnded = headers.endStream
            exchange?.receivedHead(head.head)
        } catch {
            let isHead = headers.headers.first(name: ":method") == "HEAD"
            refuse(error, requestOpen: !headers.endStream, isHead: isHead)
        }
    }

    private func requestTrailers(_ trailers: HPACKHeaders) {
        guard !requestEnded else { return }
        guard requestChunked else {
            // A body of declared length has no trailer section in HTTP/1.1: the fields are dropped.
            endRequest(with: nil)
            return
        }
        do {
            endRequest(with: try HTTP2RequestHead.lastChunk(trailers: trailers, allocator: Self.allocator))
        } catch {
            // The head went on already: only a reset says the request is refused.
            requestEnded = true
            reset(.cancel)
        }
    }

    /// The request's body ended; `end` is what ends it on the HTTP/1.1 side, if anything.
    private func endRequest(with end: ByteBuffer?) {
        requestEnded = true
        if requestChunked, let end { exchange?.received(end) }
    }

    /// Answers a request that cannot be an HTTP/1.1 one with `error`'s status (no body for a
    /// `HEAD`); the exchange never hears of it. A request still open (its body coming) is
    /// then told to stop with `RST_STREAM(NO_ERROR)` (RFC 9113 §8.1).
    private func refuse(_ error: HTTPParseError, requestOpen: Bool, isHead: Bool) {
        requestEnded = true
        responseEnded = true
        var body = Self.allocator.buffer(capacity: error.message.utf8.count + 1)
        body.writeString(error.message)
        body.writeStaticString("\n")
        let headers: HPACKHeaders = [
            ":status": String(error.status), "content-type": "text/plain; charset=utf-8",
            "content-length": String(body.readableBytes),
        ]
        let written = connection.eventLoop.makePromise(of: Void.self)
        if isHead {
            unflushed.append((.headers(.init(headers: headers, endStream: true)), written))
        } else {
            unflushed.append((.headers(.init(headers: headers)), nil))
            unflushed.append((.data(.init(data: .byteBuffer(body), endStream: true)), written))
        }
        responseEndWritten = written.futureResult
        flush()
        if requestOpen { resetAfterResponse() }
    }

    /// Starts or stops handing the exchange the client's frames.
    func setReading(_ reading: Bool) {
        guard paused == reading else { return }
        paused = !reading
        guard reading, !heldFrames.isEmpty else { return }
        // On the loop's next turn, not inside the call that resumed reading: the exchange is
        // in the middle of a change of its own, and handing it frames now would re-enter it.
        connection.eventLoop.assumeIsolated().execute { self.deliverHeld() }
    }

    /// Hands the exchange the frames held while reading was paused, until it pauses again.
    private func deliverHeld() {
        guard !isClosed else { return }
        while !paused || discarding, !heldFrames.isEmpty {
            handle(heldFrames.removeFirst())
        }
        exchange?.readComplete()
        connection.flushOwnFrames()
    }

    /// The connection's read ended, with frames for this stream in it.
    func readComplete() {
        exchange?.readComplete()
    }

    // MARK: The response

    /// Bytes of the exchange's HTTP/1.1 response, made into frames that wait for ``flush()``.
    func write(_ bytes: ByteBuffer) {
        guard !responseEnded, !isClosed else { return }  // nothing follows a response on a stream
        var bytes = bytes
        if outbound.readableBytes == 0 {
            outbound = bytes
        } else {
            outbound.writeBuffer(&bytes)
        }
        do {
            try readResponse()
        } catch {
            // Not a response the gateway would write: end the stream with a reset.
            reset(.internalError)
        }
    }

    /// The response's head as its header block, which the exchange made from the instance's
    /// head without writing it as HTTP/1.1 first; `framing` is how the exchange writes the
    /// body that follows (`nil` for none).
    func writeHead(_ headers: HPACKHeaders, framing: HTTPBodyDecoder.Framing?) {
        guard !responseEnded, !isClosed else { return }
        if let framing, framing != .length(0) {
            body = HTTPBodyDecoder(framing)
            emit(.headers(.init(headers: headers)))
        } else {
            responseEnded = true
            emit(.headers(.init(headers: headers, endStream: true)))
        }
    }

    /// Writes the frames made so far to the connection, and flushes it.
    func flush() {
        guard !isClosed else { return }
        if !unflushed.isEmpty {
            let frames = unflushed
            unflushed.removeAll(keepingCapacity: true)
            for (payload, promise) in frames {
                if case .data(let data) = payload { sendWindow -= data.data.readableBytes }
                connection.write(HTTP2Frame(streamID: streamID, payload: payload), promise: promise)
            }
        }
        connection.flush()
        if toldWritable && !isWritable { writabilityChanged() }
    }

    /// The exchange is done with the stream. Closing it would reset it at once and drop the
    /// frames the client's window still holds back, so once the response is whole, the
    /// stream is left to end by itself when both sides have ended. When the answer came
    /// before the request's body ended (a 404 or 413 to an upload), the rest of the body is
    /// read and dropped, and the stream ends with the client's `END_STREAM` — or with
    /// `RST_STREAM(NO_ERROR)` (RFC 9113 §8.1) after ``lingerBytes`` or ``lingerTime``: curl,
    /// for one, reports a reset that comes while it uploads as an error, even after a whole
    /// response. A close before the response is whole resets the stream (`CANCEL`): the
    /// response was cut short.
    func close() {
        guard !isClosed else { return }
        guard responseEnded else {
            reset(.cancel)
            return
        }
        guard !requestEnded, !discarding else { return }
        requestEnded = true
        discarding = true
        lingerTimer = connection.eventLoop.assumeIsolated().scheduleTask(in: Self.lingerTime) {
            self.stopDiscarding(reset: true)
        }
        // The exchange may have stopped reading: the body must flow to be dropped.
        if !heldFrames.isEmpty { connection.eventLoop.assumeIsolated().execute { self.deliverHeld() } }
    }

    /// Ends the wait for the rest of a body: it ended, or it is reset after the answer.
    private func stopDiscarding(reset: Bool) {
        guard discarding else { return }
        discarding = false
        lingerTimer?.cancel()
        lingerTimer = nil
        if reset { resetAfterResponse() }
    }

    /// Once the response's end has left the stream, asks the client to stop sending its
    /// request (`RST_STREAM(NO_ERROR)`): the stream then closes.
    private func resetAfterResponse() {
        guard let written = responseEndWritten else { return }
        written.assumeIsolated().whenComplete { _ in self.reset(.noError) }
    }

    /// Resets the stream with `code`, after the frames made before, and closes it.
    func reset(_ code: HTTP2ErrorCode) {
        guard !isClosed else { return }
        flush()
        connection.forget(self)
        connection.write(HTTP2Frame(streamID: streamID, payload: .rstStream(code)), promise: nil)
        connection.flush()
        closed()
    }

    /// The stream closed (both sides ended it, or either reset it), or its connection did.
    func closed() {
        guard !isClosed else { return }
        isClosed = true
        lingerTimer?.cancel()
        lingerTimer = nil
        heldFrames = []
        unflushed = []
        let exchange = self.exchange
        self.exchange = nil
        exchange?.clientClosed()
    }

    // MARK: Flow control of the response

    /// The client moved the stream's window by `delta` (a `WINDOW_UPDATE`, or a new initial
    /// window in its `SETTINGS`).
    func sendWindowChanged(by delta: Int) {
        sendWindow += delta
        if toldWritable != isWritable { writabilityChanged() }
    }

    /// Tells the exchange the stream's writability, when it changed since it was last told.
    func writabilityChanged() {
        let writable = isWritable
        guard writable != toldWritable, !isClosed else { return }
        toldWritable = writable
        exchange?.clientWritabilityChanged(writable)
    }

    /// Queues `frame`; the response's last goes with a promise while the request still comes,
    /// so that a reset can follow it (see ``close()``).
    private func emit(_ frame: HTTP2Frame.FramePayload) {
        unflushed.append((frame, responseEnded ? endPromise() : nil))
    }

    /// The promise of the response's last frame, when a reset may have to follow it: the
    /// request's body still comes.
    private func endPromise() -> EventLoopPromise<Void>? {
        guard !requestEnded, responseEndWritten == nil else { return nil }
        let written = connection.eventLoop.makePromise(of: Void.self)
        responseEndWritten = written.futureResult
        return written
    }

    /// Makes the last frame made, when it is data not yet flushed, the response's last: one
    /// frame fewer than an empty `DATA` to end it, for the codec to encode and account for.
    private func endLastData() -> Bool {
        guard let (payload, _) = unflushed.last, case .data(var data) = payload else { return false }
        data.endStream = true
        unflushed[unflushed.count - 1] = (.data(data), endPromise())
        return true
    }

    /// Reads as much of the response as came, turning it into frames.
    private func readResponse() throws(HTTPParseError) {
        while !responseEnded {
            if var decoder = body {
                guard let piece = try decoder.next(from: &outbound) else {
                    body = decoder
                    return
                }
                switch piece {
                case .data(let data):
                    body = decoder
                    emit(.data(.init(data: .byteBuffer(data))))
                case .end:
                    body = nil
                    responseEnded = true
                    if let trailers = decoder.trailers?.http2Trailers, !trailers.isEmpty {
                        emit(.headers(.init(headers: trailers, endStream: true)))
                    } else if !endLastData() {
                        emit(.data(.init(data: .byteBuffer(ByteBuffer()), endStream: true)))
                    }
                }
                continue
            }
            guard let head = try heads.read(from: &outbound) else { return }
            if head.status < 200 {
                // HTTP/2 has no protocol switch; other interim answers (100 Continue) pass.
                guard head.status != 101 else { throw HTTPParseError("no protocol switch over HTTP/2") }
                emit(.headers(.init(headers: head.http2Headers)))
                continue
            }
            let framing = head.bodyFraming(requestIsHead: requestIsHead)
            if let framing, framing != .length(0) {
                body = HTTPBodyDecoder(framing)
                emit(.headers(.init(headers: head.http2Headers)))
            } else {
                responseEnded = true
                emit(.headers(.init(headers: head.http2Headers, endStream: true)))
            }
        }
    }
}
