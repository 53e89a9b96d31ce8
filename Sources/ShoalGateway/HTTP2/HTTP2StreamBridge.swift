import NIOCore
import NIOHPACK
import NIOHTTP2

/// The first handler of an HTTP/2 stream's channel: it makes the stream one HTTP/1.1
/// exchange for the ``ProxyHandler`` behind it, and makes that handler's answer the stream's
/// response.
///
/// Inbound, the request's `HEADERS` become an HTTP/1.1 head (``HTTP2RequestHead``), its
/// `DATA` the body (in chunks when it declared no length), and a trailing `HEADERS` the
/// chunked body's trailer section. Outbound, the bytes the proxy handler writes are read as
/// an HTTP/1.1 response, as a client would read them, and sent as `HEADERS`, `DATA` and, for
/// a chunked body with trailer fields, a trailing `HEADERS`.
///
/// So an HTTP/2 request goes through the same exchange as an HTTP/1.1 one — routing, limits,
/// balancing, retries, timeouts, the access log, metrics and spans — at the cost of writing
/// and reading its heads once more. Flow control needs nothing here: the proxy handler turns
/// reading off and on with `autoRead`, which the stream channel turns into `WINDOW_UPDATE`s,
/// and it watches the stream channel's writability, which follows the peer's window.
final class HTTP2StreamBridge: ChannelDuplexHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = HTTP2Frame.FramePayload

    /// Whether the request's head came, whether its body goes in chunks, and whether it ended.
    private var sawHead = false
    private var requestChunked = false
    private var requestIsHead = false
    private var requestEnded = false

    /// Response bytes written and not yet read.
    private var outbound = ByteBuffer()
    private var heads = ResponseHeadReader()
    /// The response's body, while one is being read.
    private var body: HTTPBodyDecoder?
    /// Set once the response's last frame (with `END_STREAM`) was made, and then the future
    /// of its write: it completes once the frame has left the stream, past flow control.
    private var responseEnded = false
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
    /// The frame made last and not yet written: it is written with the promise of the write
    /// that made it, the frames before it without one.
    private var lastFrame: HTTP2Frame.FramePayload?
    /// Promises of writes that made no frame, completed at the next flush: after everything
    /// written before them.
    private var promisesAtFlush: [EventLoopPromise<Void>] = []

    // MARK: The request

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .headers(let headers):
            if discarding {
                if headers.endStream { stopDiscarding(reset: false, context: context) }
            } else if sawHead {
                requestTrailers(headers.headers, context: context)
            } else {
                requestHead(headers, context: context)
            }
        case .data(let data):
            guard sawHead, case .byteBuffer(let buffer) = data.data else { return }
            if discarding {
                discarded += buffer.readableBytes
                if data.endStream || discarded > Self.lingerBytes {
                    stopDiscarding(reset: !data.endStream, context: context)
                }
                return
            }
            guard !requestEnded else { return }
            if buffer.readableBytes > 0 {
                if requestChunked {
                    context.fireChannelRead(
                        wrapInboundOut(ChunkedEncoding.chunk(buffer, allocator: context.channel.allocator)))
                } else {
                    context.fireChannelRead(wrapInboundOut(buffer))
                }
            }
            if data.endStream { endRequest(context: context, with: ChunkedEncoding.lastChunk) }
        default:
            break  // the stream channel handles the rest (window updates, resets)
        }
    }

    private func requestHead(_ headers: HTTP2Frame.FramePayload.Headers, context: ChannelHandlerContext) {
        sawHead = true
        do {
            let head = try HTTP2RequestHead(
                headers.headers, endStream: headers.endStream, allocator: context.channel.allocator)
            requestChunked = head.chunked
            requestIsHead = head.isHead
            requestEnded = headers.endStream
            context.fireChannelRead(wrapInboundOut(head.bytes))
        } catch {
            let isHead = headers.headers.first(name: ":method") == "HEAD"
            refuse(error, requestOpen: !headers.endStream, isHead: isHead, context: context)
        }
    }

    private func requestTrailers(_ trailers: HPACKHeaders, context: ChannelHandlerContext) {
        guard !requestEnded else { return }
        guard requestChunked else {
            // A body of declared length has no trailer section in HTTP/1.1: the fields are dropped.
            endRequest(context: context, with: nil)
            return
        }
        do {
            let end = try HTTP2RequestHead.lastChunk(trailers: trailers, allocator: context.channel.allocator)
            endRequest(context: context, with: end)
        } catch {
            // The head went on already: only a reset says the request is refused.
            requestEnded = true
            context.close(promise: nil)
        }
    }

    /// The request's body ended; `end` is what ends it on the HTTP/1.1 side, if anything.
    private func endRequest(context: ChannelHandlerContext, with end: ByteBuffer?) {
        requestEnded = true
        if requestChunked, let end { context.fireChannelRead(wrapInboundOut(end)) }
    }

    /// Answers a request that cannot be an HTTP/1.1 one with `error`'s status (no body for a
    /// `HEAD`); the proxy handler never hears of it. A request still open (its body coming)
    /// is then told to stop with `RST_STREAM(NO_ERROR)` (RFC 9113 §8.1).
    private func refuse(_ error: HTTPParseError, requestOpen: Bool, isHead: Bool, context: ChannelHandlerContext) {
        requestEnded = true
        responseEnded = true
        var body = context.channel.allocator.buffer(capacity: error.message.utf8.count + 1)
        body.writeString(error.message)
        body.writeStaticString("\n")
        let headers: HPACKHeaders = [
            ":status": String(error.status), "content-type": "text/plain; charset=utf-8",
            "content-length": String(body.readableBytes),
        ]
        let written: EventLoopFuture<Void>
        if isHead {
            written = context.writeAndFlush(wrapOutboundOut(.headers(.init(headers: headers, endStream: true))))
        } else {
            context.write(wrapOutboundOut(.headers(.init(headers: headers))), promise: nil)
            written = context.writeAndFlush(wrapOutboundOut(.data(.init(data: .byteBuffer(body), endStream: true))))
        }
        if requestOpen { resetAfter(written, context: context) }
    }

    /// Once `written` (the response's end) has left the stream, asks the client to stop
    /// sending its request: the stream then closes.
    private func resetAfter(_ written: EventLoopFuture<Void>, context: ChannelHandlerContext) {
        written.assumeIsolated().whenComplete { _ in
            context.writeAndFlush(self.wrapOutboundOut(.rstStream(.noError)), promise: nil)
        }
    }

    // MARK: The response

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        var bytes = unwrapOutboundIn(data)
        guard !responseEnded else {
            // Nothing follows a response on a stream.
            if bytes.readableBytes > 0 {
                promise?.fail(ChannelError.ioOnClosedChannel)
            } else if let promise {
                promisesAtFlush.append(promise)
            }
            return
        }
        if outbound.readableBytes == 0 {
            outbound = bytes
        } else {
            outbound.writeBuffer(&bytes)
        }
        do {
            try readResponse(context: context)
        } catch {
            // Not a response the gateway would write: end the stream with a reset.
            promise?.fail(error)
            context.close(promise: nil)
            return
        }
        if let frame = lastFrame {
            lastFrame = nil
            if responseEnded && responseEndWritten == nil {
                // The response's last frame: its write is watched, for ``close(context:mode:promise:)``.
                let written = context.eventLoop.makePromise(of: Void.self)
                if let promise { written.futureResult.cascade(to: promise) }
                responseEndWritten = written.futureResult
                context.write(wrapOutboundOut(frame), promise: written)
            } else {
                context.write(wrapOutboundOut(frame), promise: promise)
            }
        } else if let promise {
            promisesAtFlush.append(promise)
        }
    }

    func flush(context: ChannelHandlerContext) {
        context.flush()
        guard !promisesAtFlush.isEmpty else { return }
        let promises = promisesAtFlush
        promisesAtFlush = []
        for promise in promises { promise.succeed() }
    }

    /// The proxy handler closes after its answer when the exchange is over. Closing the
    /// stream would reset it at once and drop the frames the peer's window still holds back,
    /// so once the response is whole, the stream is left to end by itself when both sides
    /// have ended. When the answer came before the request's body ended (a 404 or 413 to an
    /// upload), the rest of the body is read and dropped, and the stream ends with the
    /// client's `END_STREAM` — or with `RST_STREAM(NO_ERROR)` (RFC 9113 §8.1) after
    /// ``lingerBytes`` or ``lingerTime``: curl, for one, reports a reset that comes while it
    /// uploads as an error, even after a whole response. A close before the response is
    /// whole resets the stream: the response was cut short.
    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        guard responseEnded, mode == .all else {
            context.close(mode: mode, promise: promise)
            return
        }
        if !requestEnded && !discarding {
            requestEnded = true
            discarding = true
            lingerTimer = context.eventLoop.assumeIsolated().scheduleTask(in: Self.lingerTime) {
                self.stopDiscarding(reset: true, context: context)
            }
            // The proxy handler may have stopped reading: the body must flow to be dropped.
            context.channel.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in }
            context.read()
        }
        promise?.succeed()
    }

    /// Ends the wait for the rest of a body: it ended, or it is reset after the answer.
    private func stopDiscarding(reset: Bool, context: ChannelHandlerContext) {
        guard discarding else { return }
        discarding = false
        lingerTimer?.cancel()
        lingerTimer = nil
        if reset, let written = responseEndWritten { resetAfter(written, context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        lingerTimer?.cancel()
        lingerTimer = nil
    }

    /// Queues `frame`, writing the one queued before it.
    private func emit(_ frame: HTTP2Frame.FramePayload, context: ChannelHandlerContext) {
        if let previous = lastFrame { context.write(wrapOutboundOut(previous), promise: nil) }
        lastFrame = frame
    }

    /// Reads as much of the response as came, turning it into frames.
    private func readResponse(context: ChannelHandlerContext) throws(HTTPParseError) {
        while !responseEnded {
            if var decoder = body {
                guard let piece = try decoder.next(from: &outbound) else {
                    body = decoder
                    return
                }
                switch piece {
                case .data(let data):
                    body = decoder
                    emit(.data(.init(data: .byteBuffer(data))), context: context)
                case .end:
                    body = nil
                    responseEnded = true
                    if let trailers = decoder.trailers?.http2Trailers, !trailers.isEmpty {
                        emit(.headers(.init(headers: trailers, endStream: true)), context: context)
                    } else {
                        emit(.data(.init(data: .byteBuffer(ByteBuffer()), endStream: true)), context: context)
                    }
                }
                continue
            }
            guard let head = try heads.read(from: &outbound) else { return }
            if head.status < 200 {
                // HTTP/2 has no protocol switch; other interim answers (100 Continue) pass.
                guard head.status != 101 else { throw HTTPParseError("no protocol switch over HTTP/2") }
                emit(.headers(.init(headers: head.http2Headers)), context: context)
                continue
            }
            let framing = head.bodyFraming(requestIsHead: requestIsHead)
            if let framing, framing != .length(0) {
                body = HTTPBodyDecoder(framing)
                emit(.headers(.init(headers: head.http2Headers)), context: context)
            } else {
                responseEnded = true
                emit(.headers(.init(headers: head.http2Headers, endStream: true)), context: context)
            }
        }
    }
}
