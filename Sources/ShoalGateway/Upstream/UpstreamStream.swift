import NIOCore
import NIOHTTP2

/// One request on one HTTP/2 stream to an h2c instance: the exchange writes the bytes it
/// writes for an HTTP/1.1 instance, and ``HTTP2UpstreamRequest`` makes them frames; the
/// instance's frames come back as the calls an ``UpstreamConnection`` makes, with the
/// response head and trailers read by ``ResponseHead/init(http2:endStream:)``.
///
/// A stream has no channel of its own: its frames go through its ``UpstreamHTTP2Connection``,
/// which hands it the instance's frames for its stream ID. It takes its ID with its first
/// frame, so streams start on the connection in the order they write. Reading pauses by
/// holding the instance's frames and the credit they used: the stream's `WINDOW_UPDATE`s
/// wait too, so the instance's flow-control window is the backpressure. Closing the stream
/// before it ended resets it (`RST_STREAM`), which cancels the call on the instance.
final class UpstreamStream: UpstreamConnection {
    /// The connection the stream is on.
    let connection: UpstreamHTTP2Connection
    /// The stream's ID, once its first frame was written.
    private(set) var streamID: HTTP2StreamID?
    private var request: HTTP2UpstreamRequest
    private var frames: [HTTP2Frame.FramePayload] = []
    /// Whether the response's head came, and whether its end did.
    private var headRead = false
    private var ended = false
    /// Frames that came while reading was paused, in order.
    private var heldFrames: [HTTP2Frame.FramePayload] = []
    private var paused = false
    /// The stream's receive window: credit for the instance's data, given back as it is read.
    private var receiveWindow: HTTP2ReceiveWindow
    /// How much of the request's data the instance's window takes now.
    private(set) var sendWindow: Int
    /// Set once the codec closed the stream, or the gateway reset it.
    private(set) var streamClosed = false
    /// The codec closed the stream while frames were held: the close waits for them.
    private var heldClose: (reason: HTTP2ErrorCode?, goAwayLastStreamID: HTTP2StreamID?)?
    /// Whether a frame came for the stream in the connection's current read.
    var readPending = false

    init(connection: UpstreamHTTP2Connection, context: ChannelHandlerContext, acceptsTrailers: Bool) {
        self.connection = connection
        request = HTTP2UpstreamRequest(acceptsTrailers: acceptsTrailers)
        receiveWindow = HTTP2ReceiveWindow(size: UpstreamHTTP2Connection.streamWindow)
        sendWindow = connection.peerInitialWindow
        super.init(channel: context.channel, address: connection.address, context: context, pooled: false)
    }

    override var exchangeEnded: Bool { ended && request.ended }

    override var isWritable: Bool { sendWindow > 0 && channel.isWritable }

    override func write(_ bytes: ByteBuffer) {
        guard !streamClosed else { return }
        do {
            try request.read(bytes, into: &frames)
        } catch {
            // The gateway wrote these bytes itself: a head it cannot read again is its own bug,
            // and the try fails rather than send something else.
            fail(error)
            return
        }
        guard !frames.isEmpty else { return }
        let streamID = self.streamID ?? connection.assignID(to: self)
        self.streamID = streamID
        for frame in frames {
            if case .data(let data) = frame { sendWindow -= data.data.readableBytes }
            context.write(NIOAny(HTTP2Frame(streamID: streamID, payload: frame)), promise: nil)
        }
        frames.removeAll(keepingCapacity: true)
        markUnflushed()
    }

    override func setReading(_ reading: Bool) {
        guard paused == reading else { return }
        paused = !reading
        guard reading, !heldFrames.isEmpty else { return }
        // On the loop's next turn, not inside the call that resumed reading: the exchange is
        // in the middle of its writability change, and handing it frames now would re-enter it.
        channel.eventLoop.assumeIsolated().execute { self.deliverHeld() }
    }

    /// Hands the exchange the frames held while reading was paused, until it pauses again.
    private func deliverHeld() {
        guard !paused, !heldFrames.isEmpty else { return }
        while !paused, !heldFrames.isEmpty {
            handle(heldFrames.removeFirst())
        }
        connection.flushWindowUpdates()
        delegate.map { $0.upstreamReadComplete(self) }
        if heldFrames.isEmpty, let heldClose {
            self.heldClose = nil
            codecClosed(reason: heldClose.reason, goAwayLastStreamID: heldClose.goAwayLastStreamID)
        }
    }

    /// Resets the stream unless it already closed, and forgets it. A stream the codec closed
    /// while its frames were held is forgotten by the connection already: it closes here with
    /// nothing sent.
    override func close() {
        guard !streamClosed else { return }
        streamClosed = true
        if heldClose == nil { connection.reset(self) }
        heldClose = nil
        heldFrames = []
        closed(with: nil)
    }

    /// A frame of the instance's response. While reading is paused, its header blocks and
    /// data wait; its window updates and resets do not, since they are about the request.
    func received(_ payload: HTTP2Frame.FramePayload) {
        switch payload {
        case .headers, .data:
            if paused || !heldFrames.isEmpty {
                heldFrames.append(payload)
                return
            }
        default:
            break
        }
        handle(payload)
    }

    private func handle(_ payload: HTTP2Frame.FramePayload) {
        do throws(HTTPParseError) {
            switch payload {
            case .headers(let headers):
                if headRead {
                    ended = true
                    delegate?.upstreamEnded(self, trailers: try HTTPFieldList(http2Trailers: headers.headers))
                    return
                }
                let head = try ResponseHead(http2: headers.headers, endStream: headers.endStream && !requestIsHead)
                if head.status < 200 { return }  // interim: the gateway sends its own
                headRead = true
                let framing: HTTPBodyDecoder.Framing? =
                    headers.endStream || requestIsHead || head.hasNoBody
                    ? nil : head.contentLength.map { .length($0) } ?? .chunked
                delegate?.upstream(self, head: head, framing: framing)
                if headers.endStream || framing == nil {
                    ended = true
                    delegate?.upstreamEnded(self, trailers: nil)
                }
            case .data(let data):
                guard headRead, !ended else { throw HTTPParseError("the instance sent data before its response head") }
                let bytes = data.data.readableBytes
                if let streamID, !data.endStream,
                    let increment = receiveWindow.used(
                        HTTP2ReceiveWindow.flowControlledLength(bytes: bytes, padding: data.paddingBytes))
                {
                    connection.windowUpdate(streamID, increment: increment)
                }
                if case .byteBuffer(let buffer) = data.data, bytes > 0 {
                    delegate?.upstream(self, body: buffer)
                }
                if data.endStream {
                    ended = true
                    delegate?.upstreamEnded(self, trailers: nil)
                }
            case .windowUpdate(let increment):
                let wasWritable = sendWindow > 0
                sendWindow += increment
                if !wasWritable, sendWindow > 0 { delegate?.upstreamWritabilityChanged(self) }
            case .rstStream(let code):
                failedBeforeRunning = code == .refusedStream
            default:
                break
            }
        } catch {
            fail(error)
        }
    }

    /// The instance changed its initial window: every open stream's window moves with it.
    func initialWindowChanged(by delta: Int) {
        let wasWritable = sendWindow > 0
        sendWindow += delta
        if wasWritable != (sendWindow > 0) { delegate?.upstreamWritabilityChanged(self) }
    }

    /// The codec closed the stream, with the reason it gave (`nil` when both sides ended it):
    /// the exchange hears of it unless the stream ended.
    func codecClosed(reason: HTTP2ErrorCode?, goAwayLastStreamID: HTTP2StreamID?) {
        guard !streamClosed else { return }
        guard heldFrames.isEmpty else {
            heldClose = (reason, goAwayLastStreamID)
            return
        }
        streamClosed = true
        guard let reason, let streamID else {
            closed(with: nil)
            return
        }
        failedBeforeRunning =
            failedBeforeRunning || reason == .refusedStream || goAwayLastStreamID.map { streamID > $0 } == true
        closed(with: NIOHTTP2Errors.streamClosed(streamID: streamID, errorCode: reason))
    }

    /// The connection closed under the stream.
    func connectionClosed(_ error: any Error) {
        guard !streamClosed else { return }
        streamClosed = true
        closed(with: error)
    }
}
