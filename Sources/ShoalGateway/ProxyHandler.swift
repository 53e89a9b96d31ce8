import NIOCore
import NIOHTTP1
import ShoalBalancing

/// One client connection. Handles requests one at a time (holding any that arrive early),
/// sends each to an instance of its route's service, and streams both bodies with
/// backpressure: when one side cannot take more, the other is not read.
///
/// Everything here runs on the connection's event loop, which is also the loop of every
/// upstream connection it uses.
final class ProxyHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let loop: GatewayLoop
    var shared: GatewayShared { loop.shared }
    var context: ChannelHandlerContext?
    /// The request in progress.
    var exchange: Exchange?
    /// Whether bytes of the next request have arrived (``ActivityHandler`` sets it).
    var sawBytes = false
    /// When the wait for the next request's head ends, while none is in progress, and
    /// whether it is the idle wait (no byte yet) or the header wait.
    var waitDeadline: NIODeadline?
    var waitIsIdle = false
    /// The connection's one timer, and when it fires: see `ProxyHandler+Timer.swift`.
    var timer: Scheduled<Void>?
    var timerAt = NIODeadline.distantFuture
    /// Whether reading the client is paused (backpressure).
    var clientReadingPaused = false
    /// Parts of pipelined requests, read while a response was in progress.
    var pipelined: [HTTPServerRequestPart] = []
    var pipelinedBytes = 0
    /// Set when the connection must close once the current response ends.
    var closeAfterResponse = false
    var clientIP: String?
    /// The write of the last response's end: closing waits for it, as a close drops what
    /// is not yet written.
    var lastEndWrite: EventLoopFuture<Void>?
    /// The first handler of the pipeline, which can write below the HTTP handlers.
    weak var activity: ActivityHandler?

    init(loop: GatewayLoop) {
        self.loop = loop
    }

    // MARK: Connection

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        clientIP = context.channel.remoteAddress?.ipAddress
        loop.handlers[ObjectIdentifier(self)] = self
        startWaiting(idle: false)
    }

    /// The pipeline keeps its handlers alive through their contexts: dropping the context
    /// here breaks the cycle, so the handler and its connection's state are freed.
    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        loop.handlers[ObjectIdentifier(self)] = nil
        self.context = nil
        lastEndWrite = nil
        pipelined = []
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        if let exchange {
            exchange.stopClocks()
            exchange.endSpan(status: nil, error: "the client connection closed before the response ended")
            exchange.pick?.finish(.failure(.cancelled, latency: exchange.tryStarted.elapsed))
            exchange.pick = nil
            exchange.connection?.delegate = nil
            exchange.connection?.close()  // half a request or response: not reusable
            exchange.connection = nil
            self.exchange = nil
        }
        loop.handlers[ObjectIdentifier(self)] = nil
        context.fireChannelInactive()
    }

    /// Graceful shutdown: close now if idle, else after the response in progress.
    func drain() {
        if exchange == nil {
            closeAfterWrites()
        } else {
            closeAfterResponse = true
        }
    }

    /// Bytes arrived (before the HTTP decoder): the idle wait becomes a header wait.
    func bytesArrived() {
        guard exchange == nil, !sawBytes else { return }
        sawBytes = true
        if waitIsIdle { startWaiting(idle: false) }
    }

    /// Starts waiting for a request's head: the header timeout, or the idle timeout between
    /// requests until a byte arrives.
    func startWaiting(idle: Bool) {
        let limits = shared.configuration.limits
        waitIsIdle = idle
        waitDeadline = .now() + (idle ? limits.idleTimeout : limits.headerTimeout).timeAmount
        armTimer()
    }

    /// The wait for a head ran out.
    func waitRanOut() {
        guard let context, exchange == nil else { return }
        if sawBytes {
            // Part of a head arrived, too slowly: slowloris, or a client that stalled.
            let response = GatewayErrorResponse(status: .requestTimeout, message: "the request head took too long")
            loop.metrics.response(route: nil, upstream: nil, status: 408, started: .now())
            // No request has begun as far as the HTTP encoder knows (it pairs each response
            // with a request): write below it.
            activity?.writeAndClose(response.bytes(requestID: nil))
        } else {
            context.close(promise: nil)
        }
    }

    // MARK: Request

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        // A request sent before the previous one's response ended (HTTP pipelining) waits.
        // NIO's pipelining handler would instead stop reading for every request, which costs
        // two epoll_ctl calls a request; this stops reading only when much is waiting.
        if !pipelined.isEmpty || exchange?.requestEnded == true {
            pipelined.append(part)
            if case .body(let buffer) = part { pipelinedBytes += buffer.readableBytes }
            if pipelined.count > 64 || pipelinedBytes > 1 << 20 { setClientReading(false) }
            return
        }
        handle(part)
    }

    private func handle(_ part: HTTPServerRequestPart) {
        switch part {
        case .head(let head): startRequest(head)
        case .body(let buffer): requestBody(buffer)
        case .end: requestEnd()
        }
    }

    /// Handles pipelined parts until a request is in progress again.
    private func replayPipelined() {
        while !pipelined.isEmpty, exchange?.requestEnded != true {
            handle(pipelined.removeFirst())
        }
        if pipelined.isEmpty { pipelinedBytes = 0 }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        exchange?.connection?.flush()
        context.fireChannelReadComplete()
    }

    private func startRequest(_ head: HTTPRequestHead) {
        waitDeadline = nil
        let requestID = loop.requestIDs.id(given: head.headers["x-request-id"].first)
        let framing = RequestFraming(head.headers)
        func refuse(_ response: GatewayErrorResponse) {
            // The body (if any) is not read: the connection closes after the answer.
            self.exchange = Exchange(
                head: head, requestID: requestID, route: nil, upstreamHead: head, hasBody: framing.hasBody,
                retryable: false, deadline: .now())
            let close = framing.hasBody || !head.isKeepAlive
            write(response, requestID: requestID, close: close)
            self.exchange?.responseEnded = true
            if close { closeAfterResponse = true }
        }
        if let problem = framing.problem {
            refuse(GatewayErrorResponse(status: .badRequest, message: problem))
            return
        }
        guard let index = shared.routes.match(host: head.headers["host"].first, uri: head.uri) else {
            refuse(.noRoute(String(head.uri.prefix { $0 != "?" })))
            return
        }
        let route = shared.routes.routes[index]
        if let length = framing.contentLength, length > route.maxBodyBytes {
            refuse(Self.tooLarge(route))
            return
        }
        var upstreamHead = ForwardedHeaders.upstreamHead(
            head, uri: route.upstreamURI(head.uri), clientIP: clientIP, requestID: requestID, chunked: framing.chunked)
        let span = shared.tracer.map {
            Exchange.startSpan(
                tracer: $0, head: head, route: route, requestID: requestID, clientIP: clientIP,
                upstreamHead: &upstreamHead)
        }
        let exchange = Exchange(
            head: head, requestID: requestID, route: (index, route), upstreamHead: upstreamHead,
            hasBody: framing.hasBody, retryable: head.method.isIdempotent && !framing.hasBody,
            deadline: .now() + route.timeout.timeAmount)
        exchange.span = span
        self.exchange = exchange
        shared.upstreams[index].retryBudget.deposit()
        if head.headers["expect"].contains(where: { $0.lowercased() == "100-continue" }) {
            context?.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))))
                .whenFailure { _ in }
        }
        startTry()
    }

    private func requestBody(_ buffer: ByteBuffer) {
        guard let exchange, let route = exchange.route?.route else { return }  // refused: dropped
        exchange.bodyBytes += buffer.readableBytes
        if exchange.bodyBytes > route.maxBodyBytes {
            if exchange.responseStarted {
                context?.close(promise: nil)
            } else {
                abandonTry()
                exchange.stopClocks()
                closeAfterResponse = true
                write(Self.tooLarge(route), requestID: exchange.requestID, close: true)
                exchange.responseEnded = true
            }
            return
        }
        if let connection = exchange.connection {
            connection.write(.body(.byteBuffer(buffer)))
        } else {
            exchange.pending.append(buffer)
            exchange.pendingBytes += buffer.readableBytes
            if exchange.pendingBytes > 1 << 20 { setClientReading(false) }
        }
    }

    private func requestEnd() {
        guard let exchange else { return }
        exchange.requestEnded = true
        if let connection = exchange.connection {
            connection.write(.end(nil))
            connection.flush()
        }
        finishIfDone()
    }

    private static func tooLarge(_ route: GatewayRoute) -> GatewayErrorResponse {
        GatewayErrorResponse(status: .payloadTooLarge, message: "the body is over \(route.maxBodyBytes) bytes")
    }

    // MARK: Responses and the end of an exchange

    /// Writes an answer of the gateway's own; with `close`, the connection closes after it.
    func write(_ response: GatewayErrorResponse, requestID: String?, close: Bool) {
        guard let context else { return }
        loop.metrics.response(
            route: exchange?.route?.index, upstream: nil, status: Int(response.status.code),
            started: exchange?.started ?? .now())
        exchange?.endSpan(status: Int(response.status.code))
        let (head, body) = response.parts(requestID: requestID, close: close || closeAfterResponse)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        lastEndWrite = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if close || closeAfterResponse { closeAfterWrites() }
    }

    /// Closes the connection once the last response is written.
    func closeAfterWrites() {
        guard let context else { return }
        guard let lastEndWrite else {
            context.close(promise: nil)
            return
        }
        lastEndWrite.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }

    /// Ends the exchange once both the request and the response have; then waits for the
    /// next request, or closes.
    func finishIfDone() {
        guard let exchange, exchange.responseEnded else { return }
        guard exchange.requestEnded else {
            // Answered before the whole body came: the rest cannot be skipped on this connection.
            if closeAfterResponse { closeAfterWrites() }
            return
        }
        self.exchange = nil
        setClientReading(true)
        if closeAfterResponse || !exchange.head.isKeepAlive || shared.isDraining {
            closeAfterWrites()
            return
        }
        sawBytes = false
        startWaiting(idle: true)
        replayPipelined()
    }

    /// Starts or stops reading the client (backpressure from the upstream side).
    func setClientReading(_ reading: Bool) {
        guard let context, clientReadingPaused == reading else { return }
        clientReadingPaused = !reading
        context.channel.setOption(ChannelOptions.autoRead, value: reading).whenFailure { _ in }
        if reading { context.read() }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        // The client cannot take more: stop reading the instance until it can.
        exchange?.connection?.setReading(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError else {
            context.close(promise: nil)
            return
        }
        guard exchange?.responseStarted != true else {
            context.close(promise: nil)
            return
        }
        abandonTry()
        exchange?.stopClocks()
        exchange?.endSpan(status: nil, error: "malformed request: \(parserError)")
        exchange = nil
        let response =
            parserError == .headerOverflow
            ? GatewayErrorResponse(
                status: .requestHeaderFieldsTooLarge,
                message: "the request head is over \(shared.configuration.limits.maxHeaderBytes) bytes")
            : GatewayErrorResponse(status: .badRequest, message: "malformed request: \(parserError)")
        closeAfterResponse = true
        write(response, requestID: nil, close: true)
    }
}

/// How a request says its body is framed, and whether that is acceptable.
struct RequestFraming {
    let contentLength: Int?
    let chunked: Bool
    /// Why the framing is refused (400), if it is.
    let problem: String?

    var hasBody: Bool { chunked || (contentLength ?? 0) > 0 }

    init(_ headers: HTTPHeaders) {
        let lengths = Set(headers["content-length"].flatMap { $0.split(separator: ",") }.map { String($0.trimmed) })
        let codings = headers["transfer-encoding"].flatMap { $0.split(separator: ",") }.map { $0.trimmed.lowercased() }
        chunked = !codings.isEmpty
        contentLength = lengths.count == 1 ? lengths.first.flatMap { Int($0) } : nil
        if !codings.isEmpty && !lengths.isEmpty {
            problem = "both Content-Length and Transfer-Encoding: refused, as request smuggling"
        } else if !codings.isEmpty && codings != ["chunked"] {
            problem = "Transfer-Encoding must be chunked alone, not \(codings.joined(separator: ", "))"
        } else if lengths.count > 1 || (lengths.count == 1 && contentLength.map({ $0 < 0 }) ?? true) {
            problem = "Content-Length must be one number"
        } else {
            problem = nil
        }
    }
}
