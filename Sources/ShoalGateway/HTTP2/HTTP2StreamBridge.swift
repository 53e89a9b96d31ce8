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
    private var scanner = HTTPHeadScanner()
    private var headBytes = ReusedBytes()
    private var headFields: [HTTPField] = []
    /// The response's body, while one is being read.
    private var body: HTTPBodyDecoder?
    /// Set once the response's last frame (with `END_STREAM`) was written.
    private var responseEnded = false
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
            if sawHead {
                requestTrailers(headers.headers, context: context)
            } else {
                requestHead(headers, context: context)
            }
        case .data(let data):
            guard sawHead, !requestEnded, case .byteBuffer(let buffer) = data.data else { return }
            if buffer.readableBytes > 0 {
                if requestChunked {
                    var chunk = context.channel.allocator.buffer(capacity: buffer.readableBytes + 12)
                    chunk.writeString(String(buffer.readableBytes, radix: 16))
                    chunk.writeStaticString("\r\n")
                    chunk.writeImmutableBuffer(buffer)
                    chunk.writeStaticString("\r\n")
                    context.fireChannelRead(wrapInboundOut(chunk))
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
            refuse(error, context: context)
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

    /// Answers a request that cannot be an HTTP/1.1 one with `error`'s status, then closes
    /// the stream. The proxy handler never hears of it.
    private func refuse(_ error: HTTPParseError, context: ChannelHandlerContext) {
        requestEnded = true
        responseEnded = true
        var body = context.channel.allocator.buffer(capacity: error.message.utf8.count + 1)
        body.writeString(error.message)
        body.writeStaticString("\n")
        let headers: HPACKHeaders = [
            ":status": String(error.status), "content-type": "text/plain; charset=utf-8",
            "content-length": String(body.readableBytes),
        ]
        context.write(wrapOutboundOut(.headers(.init(headers: headers))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.data(.init(data: .byteBuffer(body), endStream: true))))
            .assumeIsolated().whenComplete { _ in context.close(promise: nil) }
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
            context.write(wrapOutboundOut(frame), promise: promise)
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

    /// The proxy handler closes after its answer when the exchange is over. Once the response
    /// and the request have both ended, the stream closes by itself when its last frame is
    /// sent: closing it here could drop frames the peer's window still holds back.
    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if responseEnded && requestEnded && mode == .all {
            promise?.succeed()
            return
        }
        context.close(mode: mode, promise: promise)
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
            switch scanner.scan(outbound) {
            case .incomplete:
                return
            case .bareLineFeed:
                throw HTTPParseError("a response line ends in LF without CR")
            case .complete(let skip, let length):
                outbound.moveReaderIndex(forwardBy: skip)
                headBytes.read(length, from: &outbound)
                scanner.reset()
                let head = try ResponseHead(headBytes.bytes, fieldStorage: &headFields)
                if head.status < 200 {
                    // HTTP/2 has no protocol switch; other interim answers (100 Continue) pass.
                    guard head.status != 101 else { throw HTTPParseError("no protocol switch over HTTP/2") }
                    emit(.headers(.init(headers: head.http2Headers)), context: context)
                    continue
                }
                let framing = head.bodyFraming(requestIsHead: requestIsHead)
                if framing == nil || framing == .length(0) {
                    responseEnded = true
                    emit(.headers(.init(headers: head.http2Headers, endStream: true)), context: context)
                } else if let framing {
                    body = HTTPBodyDecoder(framing)
                    emit(.headers(.init(headers: head.http2Headers)), context: context)
                }
            }
        }
    }
}
