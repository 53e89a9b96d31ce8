import NIOCore
import NIOHTTP2

/// One request on one HTTP/2 stream to an h2c instance: the exchange writes the bytes it
/// writes for an HTTP/1.1 instance, and ``HTTP2UpstreamRequest`` makes them frames; the
/// instance's frames come back as the calls an ``UpstreamConnection`` makes, with the
/// response head and trailers read by ``ResponseHead/init(http2:)``.
///
/// Reading stops with the stream channel's `autoRead`, which also stops the stream's
/// `WINDOW_UPDATE`s: the instance's flow-control window is the backpressure. Closing the
/// stream before it ended resets it (`RST_STREAM`), which cancels the call on the instance.
final class UpstreamStream: UpstreamConnection {
    /// The connection the stream is on, for its `GOAWAY`.
    let connection: UpstreamHTTP2Connection
    private var request: HTTP2UpstreamRequest
    private var frames: [HTTP2Frame.FramePayload] = []
    /// Whether the response's head came, and whether its end did.
    private var headRead = false
    private var ended = false

    init(
        channel: any Channel, address: String, context: ChannelHandlerContext, connection: UpstreamHTTP2Connection,
        acceptsTrailers: Bool
    ) {
        self.connection = connection
        request = HTTP2UpstreamRequest(acceptsTrailers: acceptsTrailers)
        super.init(channel: channel, address: address, context: context, pooled: false)
    }

    override var exchangeEnded: Bool { ended && request.ended }

    override func write(_ bytes: ByteBuffer) {
        do {
            try request.read(bytes, into: &frames)
        } catch {
            // The gateway wrote these bytes itself: a head it cannot read again is its own bug,
            // and the try fails rather than send something else.
            fail(error)
            return
        }
        guard !frames.isEmpty else { return }
        for frame in frames { context.write(NIOAny(frame), promise: nil) }
        frames.removeAll(keepingCapacity: true)
        markUnflushed()
    }

    /// A frame of the instance's response.
    func received(_ payload: HTTP2Frame.FramePayload) {
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
                if case .byteBuffer(let bytes) = data.data, bytes.readableBytes > 0 {
                    delegate?.upstream(self, body: bytes)
                }
                if data.endStream {
                    ended = true
                    delegate?.upstreamEnded(self, trailers: nil)
                }
            case .rstStream(let code):
                failedBeforeRunning = code == .refusedStream
            default:
                break
            }
        } catch {
            fail(error)
        }
    }

    /// The stream closed with an error: whether the instance can have run the request.
    func streamFailed(_ error: any Error) {
        if let closed = error as? NIOHTTP2Errors.StreamClosed {
            failedBeforeRunning =
                closed.errorCode == .refusedStream
                || connection.goAwayLastStreamID.map { closed.streamID > $0 } == true
        }
        closed(with: error)
    }
}

/// The one handler of an upstream stream channel: hands the instance's frames to the stream.
final class UpstreamStreamHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    var stream: UpstreamStream?
    private(set) var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stream?.closed(with: nil)
        stream = nil
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        stream?.received(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if let stream { stream.delegate?.upstreamReadComplete(stream) }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if let stream { stream.delegate?.upstreamWritabilityChanged(stream) }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stream?.closed(with: nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        stream?.streamFailed(error)
        context.close(promise: nil)
    }
}
