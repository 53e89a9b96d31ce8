import NIOCore
import ShoalBalancing

/// One client connection. Reads requests off the socket's bytes (heads with
/// ``HTTPHeadScanner`` and ``RequestHead``, bodies with ``HTTPBodyDecoder``), one at a time,
/// holding any that arrive early; sends each to an instance of its route's service, and
/// streams both bodies with backpressure: when one side cannot take more, the other is not
/// read.
///
/// Everything here runs on the connection's event loop, which is also the loop of every
/// upstream connection it uses.
final class ProxyHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// What the next bytes from the client are.
    enum Reading {
        /// A request's head.
        case head
        /// The current request's body.
        case body(HTTPBodyDecoder)
        /// The next request's: they wait until the current response ends (pipelining).
        case held
        /// Nothing of use: the connection closes after its last answer.
        case dropping
        /// Bytes of the protocol the instance switched to: they go to it as they are.
        case tunnel
    }

    let loop: GatewayLoop
    var shared: GatewayShared { loop.shared }
    var context: ChannelHandlerContext?
    /// The request in progress.
    var exchange: Exchange?
    var reading = Reading.head
    /// Bytes read and not yet handled.
    var inbound = ByteBuffer.released
    var scanner = HTTPHeadScanner()
    /// Set while ``readInbound()`` runs, so that answering a request inside it does not start
    /// another (nested) pass over the held bytes.
    private var readingInbound = false
    /// Whether bytes of the next request have arrived.
    var sawBytes = false
    /// When the wait for the next request's head ends, while none is in progress, and
    /// whether it is the idle wait (no byte yet) or the header wait.
    var waitDeadline: NIODeadline?
    var waitIsIdle = false
    /// When the current wait began: for the header wait, when the head's first byte came.
    var waitStarted = NIODeadline.now()
    /// When a tunnel last carried a byte, either way.
    var tunnelActive = NIODeadline.now()
    /// The connection's one timer, and when it fires: see `ProxyHandler+Timer.swift`.
    var timer: Scheduled<Void>?
    var timerAt = NIODeadline.distantFuture
    /// Whether reading the client is paused (backpressure).
    var clientReadingPaused = false
    /// Whether bytes were written to the client since the last flush.
    private var clientUnflushed = false
    /// A response head written for the client and not yet passed to the channel, so that a
    /// small body after it goes out in the same write: see ``stageForClient(_:)``.
    private var stagedForClient: ByteBuffer?
    /// Set when the connection must close once the current response ends.
    var closeAfterResponse = false
    /// Set once the connection is closing.
    private var closing = false
    var clientIP: String?
    /// The `X-Forwarded-Client-Cert` value for this connection's requests, once worked out
    /// (`.some(nil)`: the client presented no certificate). See `ProxyHandler+ClientCertificate.swift`.
    var clientCertificate: String??

    /// The most bytes of early requests held before reading the client pauses.
    static let maxHeldBytes = 1 << 20

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
        inbound = .released
        stagedForClient = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        reading = .dropping
        if let exchange {
            exchange.stopClocks()
            // A tunnel ends when either side closes: the client closing it is no error.
            let tunnel = exchange.status == 101
            logAccess(
                exchange, status: exchange.responseStarted ? exchange.status ?? 0 : 0,
                error: tunnel ? nil : "the connection closed before the response ended")
            if tunnel {
                exchange.endSpan(status: 101)
            } else {
                exchange.endSpan(status: nil, error: "the client connection closed before the response ended")
            }
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

    /// Starts waiting for a request's head: the header timeout, or the idle timeout between
    /// requests until a byte arrives.
    func startWaiting(idle: Bool) {
        let limits = shared.configuration.limits
        waitIsIdle = idle
        waitStarted = .now()
        waitDeadline = waitStarted + (idle ? limits.idleTimeout : limits.headerTimeout).timeAmount
        armTimer()
    }

    /// The wait for a head ran out.
    func waitRanOut() {
        guard let context, exchange == nil else { return }
        if sawBytes {
            // Part of a head arrived, too slowly: slowloris, or a client that stalled.
            refuseConnection(GatewayErrorResponse(status: .requestTimeout, message: "the request head took too long"))
        } else {
            context.close(promise: nil)
        }
    }

    // MARK: Reading requests

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .dropping = reading { return }
        var buffer = unwrapInboundIn(data)
        if exchange == nil && !sawBytes {
            // The idle wait becomes a wait for the rest of the head.
            sawBytes = true
            if waitIsIdle { startWaiting(idle: false) }
        }
        if inbound.readableBytes == 0 {
            inbound = buffer
        } else {
            inbound.writeBuffer(&buffer)
        }
        readInbound()
        if inbound.readableBytes == 0 { inbound = .released }
    }

    /// Handles the bytes read so far, as far as the state allows.
    func readInbound() {
        guard !readingInbound else { return }
        readingInbound = true
        defer { readingInbound = false }
        while context != nil {
            switch reading {
            case .dropping:
                inbound = .released
                return
            case .tunnel:
                if let exchange, let connection = exchange.connection, inbound.readableBytes > 0 {
                    exchange.bodyBytes += inbound.readableBytes
                    connection.write(inbound)
                    tunnelActive = .now()
                }
                inbound = .released
                return
            case .held:
                // A request sent before the previous one's response ended (HTTP pipelining)
                // waits; reading stops only when much is waiting.
                if inbound.readableBytes > Self.maxHeldBytes { setClientReading(false) }
                return
            case .head:
                guard let head = readHead() else { return }
                startRequest(head)
            case .body(var decoder):
                let piece: HTTPBodyDecoder.Piece?
                do {
                    piece = try decoder.next(from: &inbound)
                } catch {
                    malformedBody(error)
                    return
                }
                switch piece {
                case nil:
                    reading = .body(decoder)
                    return
                case .data(let data):
                    reading = .body(decoder)
                    requestBody(data)
                case .end:
                    reading = .held
                    exchange?.requestTrailers = decoder.trailers
                    requestEnd()
                }
            }
        }
    }

    /// The next request's head, once all of it is here; answers and closes when it cannot
    /// be one.
    private func readHead() -> RequestHead? {
        let limit = shared.configuration.limits.maxHeaderBytes
        // Made only when needed: the message is a string built per call.
        func tooLong() -> GatewayErrorResponse {
            GatewayErrorResponse(
                status: .requestHeaderFieldsTooLarge, message: "the request head is over \(limit) bytes")
        }
        switch scanner.scan(inbound) {
        case .incomplete:
            if inbound.readableBytes > limit { refuseConnection(tooLong()) }
            return nil
        case .bareLineFeed:
            refuseConnection(.refused(HTTPParseError("malformed request: a line ends in LF without CR")))
            return nil
        case .complete(let skip, let length):
            guard length <= limit else {
                refuseConnection(tooLong())
                return nil
            }
            inbound.moveReaderIndex(forwardBy: skip)
            let bytes = inbound.readBytes(length: length)!
            scanner.reset()
            do {
                return try RequestHead(bytes)
            } catch {
                refuseConnection(.refused(error))
                return nil
            }
        }
    }

    private func startRequest(_ head: RequestHead) {
        guard let context else { return }
        waitDeadline = nil
        let requestID = loop.requestIDs.id(given: head.requestID)
        let target = head.targetString
        let now = NIODeadline.now()
        func refuse(_ response: GatewayErrorResponse) {
            // The body (if any) is not read: the connection closes after the answer.
            let exchange = Exchange(
                request: head, requestID: requestID, route: nil, upstreamHead: ByteBuffer(), retryable: false,
                started: now, deadline: now)
            self.exchange = exchange
            let close = head.hasBody || !head.keepAlive
            if close { closeAfterResponse = true }
            reading = head.hasBody ? .dropping : .held
            write(response, requestID: requestID, close: close)
            exchange.responseEnded = true
            exchange.requestEnded = !head.hasBody
            finishIfDone()
        }
        guard let index = shared.routes.match(host: head.host, uri: target) else {
            refuse(.noRoute(String(target.prefix { $0 != "?" })))
            return
        }
        let entry = shared.routeEntries[index]
        let route = entry.route
        if let length = head.contentLength, length > route.maxBodyBytes {
            refuse(Self.tooLarge(route))
            return
        }
        var traceFields: [(String, String)] = []
        let span = shared.tracer.map {
            Exchange.startSpan(
                tracer: $0, request: head, route: route, requestID: requestID, clientIP: clientIP,
                traceFields: &traceFields)
        }
        var upstreamHead = context.channel.allocator.buffer(capacity: head.bytes.count + 512)
        head.writeUpstreamHead(
            target: route.upstreamURI(target), hostIfMissing: route.service, clientIP: clientIP, requestID: requestID,
            traceFields: traceFields, secure: shared.secure, clientCertificate: describedCertificate(),
            replacesClientCertificate: shared.secure, to: &upstreamHead)
        let exchange = Exchange(
            request: head, requestID: requestID, route: entry, upstreamHead: upstreamHead,
            retryable: RetryRule.isRepeatable(method: head.bytes[head.method], hasBody: head.hasBody), started: now, deadline: now + route.timeout.timeAmount)
        exchange.span = span
        self.exchange = exchange
        if head.hasBody {
            reading = .body(HTTPBodyDecoder(head.chunked ? .chunked : .length(head.contentLength ?? 0)))
            if head.expectsContinue {
                writeAndFlushToClient(ByteBuffer(staticString: "HTTP/1.1 100 Continue\r\n\r\n"))
            }
        } else {
            reading = .held
            exchange.requestEnded = true
        }
        shared.upstreams[index].retryBudget.deposit()
        startTry(now: now)
    }

    private func requestBody(_ data: ByteBuffer) {
        guard let exchange, let entry = exchange.route else { return }  // refused: dropped
        exchange.bodyBytes += data.readableBytes
        if exchange.bodyBytes > entry.route.maxBodyBytes {
            let route = entry.route
            reading = .dropping
            if exchange.responseStarted {
                logAccess(exchange, status: exchange.status ?? 0, error: Self.tooLarge(route).message)
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
            sendBody(data, of: exchange, on: connection)
        } else {
            exchange.pending.append(data)
            exchange.pendingBytes += data.readableBytes
            if exchange.pendingBytes > Self.maxHeldBytes { setClientReading(false) }
        }
    }

    private func requestEnd() {
        guard let exchange else { return }
        exchange.requestEnded = true
        if let connection = exchange.connection {
            sendEnd(of: exchange, on: connection)
            connection.flush()
        }
        finishIfDone()
    }

    /// A chunked body that is not well framed: 400 if nothing was answered yet, else the
    /// connection closes.
    private func malformedBody(_ error: HTTPParseError) {
        reading = .dropping
        guard let exchange, !exchange.responseStarted, !exchange.responseEnded else {
            if let exchange { logAccess(exchange, status: exchange.status ?? 0, error: error.message) }
            context?.close(promise: nil)
            return
        }
        abandonTry()
        exchange.stopClocks()
        exchange.endSpan(status: nil, error: error.message)
        closeAfterResponse = true
        write(.refused(error), requestID: exchange.requestID, close: true)
        exchange.responseEnded = true
    }

    private static func tooLarge(_ route: GatewayRoute) -> GatewayErrorResponse {
        GatewayErrorResponse(status: .payloadTooLarge, message: "the body is over \(route.maxBodyBytes) bytes")
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        exchange?.connection?.flush()
        context.fireChannelReadComplete()
    }

    // MARK: Answers and the end of an exchange

    /// Writes bytes of the instance's response to the client, unflushed. Bytes that fit in
    /// the room left in a staged head are copied into it instead: one write of a few hundred
    /// bytes costs the channel less than two.
    func writeToClient(_ bytes: ByteBuffer) {
        clientUnflushed = true
        if var staged = stagedForClient, bytes.readableBytes <= staged.writableBytes {
            stagedForClient = nil  // the buffer's only reference: appending does not copy it
            var bytes = bytes
            staged.writeBuffer(&bytes)
            stagedForClient = staged
            return
        }
        writeStagedForClient()
        context?.write(wrapOutboundOut(bytes), promise: nil)
    }

    /// Holds `head`, a buffer of the gateway's own with room after it, until the next flush
    /// or a write that does not fit in it.
    func stageForClient(_ head: ByteBuffer) {
        writeStagedForClient()
        clientUnflushed = true
        stagedForClient = head
    }

    /// Passes the staged head, if any, to the channel; before every write that does not go
    /// through ``writeToClient(_:)``, so that bytes keep their order.
    private func writeStagedForClient() {
        guard let staged = stagedForClient else { return }
        stagedForClient = nil
        context?.write(wrapOutboundOut(staged), promise: nil)
    }

    /// Sends what was written to the client, if anything was.
    func flushClient() {
        guard clientUnflushed, let context else { return }
        writeStagedForClient()
        clientUnflushed = false
        context.flush()
    }

    /// Writes `bytes` to the client and flushes, after anything written before.
    func writeAndFlushToClient(_ bytes: ByteBuffer) {
        writeStagedForClient()
        clientUnflushed = false
        context?.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
    }

    /// Writes an answer of the gateway's own; with `close`, the connection closes after it.
    func write(_ response: GatewayErrorResponse, requestID: String?, close: Bool) {
        guard context != nil else { return }
        loop.metrics.response(
            route: exchange?.route?.index, upstream: nil, status: Int(response.status.code),
            started: exchange?.started ?? .now())
        exchange?.endSpan(status: Int(response.status.code))
        let body = response.body(requestID: requestID)
        logAccess(
            exchange, status: Int(response.status.code), responseBytes: body.readableBytes, error: response.message)
        let closing = close || closeAfterResponse
        writeAndFlushToClient(response.bytes(body: body, requestID: requestID, close: closing))
        if closing { closeAfterWrites() }
    }

    /// Answers a client whose bytes cannot be read as a request (or that sent too little, too
    /// slowly), then closes: nothing after them can be trusted.
    private func refuseConnection(_ response: GatewayErrorResponse) {
        reading = .dropping
        closeAfterResponse = true
        write(response, requestID: nil, close: true)
    }

    /// Closes the connection once everything written to it is sent (a close drops what is
    /// not): the empty write completes after every write before it.
    func closeAfterWrites() {
        guard let context, !closing else { return }
        closing = true
        reading = .dropping
        writeStagedForClient()
        context.writeAndFlush(wrapOutboundOut(ByteBuffer())).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
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
        if closeAfterResponse || !exchange.request.keepAlive || shared.isDraining
            || exchange.clientFraming == .untilClose
        {
            closeAfterWrites()
            return
        }
        reading = .head
        sawBytes = inbound.readableBytes > 0
        startWaiting(idle: !sawBytes)
        readInbound()
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
        context.close(promise: nil)
    }
}
