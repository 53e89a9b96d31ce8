import NIOCore
import ShoalBalancing

/// One client connection, or one HTTP/2 stream of one: the I/O shell around
/// ``ProxyStateMachine``.
///
/// It reads requests off the socket's bytes (heads with ``HTTPHeadScanner`` and
/// ``RequestHead``, bodies with ``HTTPBodyDecoder``), tells the machine what it read and what
/// the instance answered, and does what the machine says: pick an instance, connect, write,
/// answer an error, close. Both bodies stream with backpressure: when one side cannot take
/// more, the other is not read.
///
/// On an HTTP/1.1 connection it is the channel's last handler. For an HTTP/2 stream it is in
/// no pipeline: the stream (``HTTP2ClientStream``) hands it the request's head with its fields
/// found (``receivedHead(_:)``) and the body as HTTP/1.1 frames it, and takes its answer;
/// `ProxyHandler+Client.swift` sends the client's side of the I/O to whichever of the two it
/// serves.
///
/// Everything here runs on the connection's event loop, which is also the loop of every
/// upstream connection it uses; time is the event loop's (``now``).
final class ProxyHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let loop: GatewayLoop
    var shared: GatewayShared { loop.shared }
    /// The channel's context, while the handler is in an HTTP/1.1 connection's pipeline.
    var context: ChannelHandlerContext?
    /// The stream it serves, until the stream closes.
    var stream: HTTP2ClientStream?
    /// The decisions.
    var machine: ProxyStateMachine
    /// The request in progress: its head, its pick, its connection and span.
    var exchange: Exchange?
    /// Reads the current request's body, while the machine reads one.
    private var bodyDecoder = HTTPBodyDecoder(.length(0))
    /// Bytes read and not yet handled.
    var inbound = ByteBuffer.released
    private var scanner = HTTPHeadScanner()
    /// Storage for each request head's bytes and fields, used again once the last head is
    /// gone, so that reading a head allocates nothing.
    private var headBytes = ReusedBytes()
    private var headFields: [HTTPField] = []
    /// The buffers of the last upstream head and client head, for the next ones.
    private var spareUpstreamHead = SpareBuffer()
    var spareClientHead = SpareBuffer()
    /// Set while ``readInbound()`` runs, so that answering a request inside it does not start
    /// another (nested) pass over the held bytes.
    private var readingInbound = false
    /// The connection's one timer, and when it fires: see `ProxyHandler+Timer.swift`.
    var timer: Scheduled<Void>?
    var timerAt = NIODeadline.distantFuture
    /// Whether the timer is armed: the NIO task, or for a stream, a deadline with its connection.
    var timerArmed = false
    /// Whether reading the client is paused (backpressure).
    private var clientReadingPaused = false
    /// Whether bytes were written to the client since the last flush.
    var clientUnflushed = false
    /// A response head written for the client and not yet passed to the channel, so that a
    /// small body after it goes out in the same write: see ``stageForClient(_:)``.
    private var stagedForClient: ByteBuffer?
    /// Set once the close after the last write was asked for.
    private var closeRequested = false
    var clientIP: String?
    /// The `X-Forwarded-Client-Cert` value for this connection's requests, once worked out
    /// (`.some(nil)`: the client presented no certificate). See `ProxyHandler+ClientCertificate.swift`.
    var clientCertificate: String??

    /// Whether the handler serves one HTTP/2 stream rather than a connection.
    let servesStream: Bool

    /// A handler for an HTTP/1.1 connection, to add to its pipeline.
    init(loop: GatewayLoop) {
        self.loop = loop
        servesStream = false
        machine = ProxyStateMachine(
            limits: ProxyStateMachine.Limits(loop.shared.configuration.limits), now: loop.eventLoop.now)
    }

    /// A handler for `stream`, which it serves from now on.
    init(loop: GatewayLoop, stream: HTTP2ClientStream, clientIP: String?) {
        self.loop = loop
        servesStream = true
        machine = ProxyStateMachine(
            limits: ProxyStateMachine.Limits(loop.shared.configuration.limits), now: loop.eventLoop.now)
        self.stream = stream
        self.clientIP = clientIP
        started()
    }

    /// The event loop's time: the real clock, or the test's on an `EmbeddedEventLoop`.
    var now: NIODeadline { loop.eventLoop.now }

    // MARK: Connection

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        clientIP = context.channel.remoteAddress?.ipAddress
        started()
    }

    /// The client is there: the handler serves it.
    private func started() {
        loop.handlers[ObjectIdentifier(self)] = self
        // Accepted after the drain passed over this loop's connections: serve one exchange.
        if shared.isDraining { machine.drainAfterNextResponse() }
        // A stream comes with its request's head, whose try arms the timer: the wait for a
        // head has nothing to time.
        if !servesStream { armTimer() }
    }

    /// The pipeline keeps its handlers alive through their contexts: dropping the context
    /// here breaks the cycle, so the handler and its connection's state are freed.
    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        released()
    }

    /// Lets go of what the handler holds once its client is gone.
    private func released() {
        disarmTimer()
        loop.handlers[ObjectIdentifier(self)] = nil
        inbound = .released
        stagedForClient = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        clientClosed()
        context.fireChannelInactive()
    }

    /// The client's connection, or its stream, closed: an exchange in progress is abandoned.
    func clientClosed() {
        disarmTimer()
        let state = machine.exchange
        switch machine.clientClosed() {
        case .nothing:
            break
        case .abandon(let tunnel, let status):
            // A tunnel ends when either side closes: the client closing it is no error.
            logAccess(state, status: status, error: tunnel ? nil : "the connection closed before the response ended")
            let tries = state?.tries ?? 0
            if tunnel {
                exchange?.endSpan(status: 101, tries: tries)
            } else {
                exchange?.endSpan(
                    status: nil, tries: tries, error: "the client connection closed before the response ended")
            }
            exchange?.finishPick(.failure(.cancelled, latency: (state?.tryStarted ?? now).duration(until: now)))
            exchange?.closeConnection()  // half a request or response: not reusable
        }
        exchange = nil
        loop.handlers[ObjectIdentifier(self)] = nil
        if stream != nil {
            stream = nil
            released()
        }
    }

    /// Graceful shutdown: close after the response in progress, or, between requests, after
    /// the next one or the drain's idle grace (the timer's).
    func drain() {
        if machine.drain(now: now) { closeAfterWrites() } else { armTimer() }
    }

    // MARK: Reading requests

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        received(unwrapInboundIn(data))
    }

    /// Bytes of the client's requests.
    func received(_ bytes: ByteBuffer) {
        guard machine.bytesArrived(now: now) else { return }
        armTimer()  // the idle wait may have become the (shorter) header wait
        var buffer = bytes
        if inbound.readableBytes == 0 {
            inbound = buffer
        } else {
            inbound.writeBuffer(&buffer)
        }
        readInbound()
        if inbound.readableBytes == 0 { inbound = .released }
    }

    /// The head of an HTTP/2 stream's request, which the stream wrote as HTTP/1.1 and knows
    /// whole: it is served as a head read from bytes would be, without reading it again.
    func receivedHead(_ head: RequestHead) {
        guard machine.bytesArrived(now: now), machine.reading == .head else { return }
        do {
            startRequest(head, target: try RequestTarget(head.targetString))
        } catch {
            refuseConnection(.refused(error))
        }
    }

    /// Handles the bytes read so far, as far as the machine's state allows.
    func readInbound() {
        guard !readingInbound else { return }
        readingInbound = true
        defer { readingInbound = false }
        while isOpen {
            switch machine.reading {
            case .dropping:
                inbound = .released
                return
            case .tunnel:
                if let connection = exchange?.connection, inbound.readableBytes > 0 {
                    machine.tunnelRead(inbound.readableBytes, now: now)
                    connection.write(inbound)
                }
                inbound = .released
                return
            case .held:
                // A request sent before the previous one's response ended (HTTP pipelining)
                // waits; reading stops only when much is waiting.
                if machine.shouldPause(holding: inbound.readableBytes) { setClientReading(false) }
                return
            case .head:
                guard let (head, target) = readHead() else { return }
                startRequest(head, target: target)
            case .body:
                let piece: HTTPBodyDecoder.Piece?
                do {
                    piece = try bodyDecoder.next(from: &inbound)
                } catch {
                    malformedBody(error)
                    return
                }
                switch piece {
                case nil:
                    return
                case .data(let data):
                    requestBody(data)
                case .end:
                    requestEnd(trailers: bodyDecoder.trailers)
                }
            }
        }
    }

    /// The next request's head and its target, once all of it is here; answers and closes
    /// when it cannot be one, or as soon as its first bytes show it cannot.
    private func readHead() -> (RequestHead, RequestTarget)? {
        let limit = shared.configuration.limits.maxHeaderBytes
        // Made only when needed: the message is a string built per call.
        func tooLong() -> GatewayErrorResponse {
            GatewayErrorResponse(
                status: .requestHeaderFieldsTooLarge, message: "the request head is over \(limit) bytes")
        }
        switch scanner.scan(inbound) {
        case .incomplete:
            if inbound.readableBytes > limit {
                refuseConnection(tooLong())
            } else if inbound.readableBytes > 0, RequestHead.cannotStart(inbound.readableBytesView) {
                refuseConnection(.refused(HTTPParseError("these bytes cannot start an HTTP/1.1 request")))
            }
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
            headBytes.read(length, from: &inbound)
            scanner.reset()
            do {
                let head = try RequestHead(headBytes.bytes, fieldStorage: &headFields)
                return (head, try RequestTarget(head.targetString))
            } catch {
                refuseConnection(.refused(error))
                return nil
            }
        }
    }

    private func startRequest(_ head: RequestHead, target requestTarget: RequestTarget) {
        guard isOpen else { return }
        let now = self.now
        let requestID = loop.requestIDs.id(given: head.requestID)
        let target = requestTarget.uri
        let entry = shared.routes.match(host: requestTarget.authority ?? head.host, uri: target).map {
            shared.routeEntries[$0]
        }
        if requestTarget.hasEncodedSeparator, let entry, !entry.route.allowsEncodedSlashes {
            refuseConnection(
                .refused(
                    HTTPParseError(
                        "the path holds an encoded slash or backslash (%2F, %5C, \\), which route \(entry.route.prefix) does not allow"
                    )))
            return
        }
        let isGRPC = head.isGRPC
        let request = ExchangeState.Request(
            hasBody: head.hasBody, contentLength: head.contentLength, keepAlive: head.keepAlive,
            expectsContinue: head.expectsContinue,
            repeatable: RetryRule.isRepeatable(method: head.bytes[head.method], hasBody: head.hasBody),
            minorVersion: head.minorVersion, keepsBodyForRetry: isGRPC)
        var limits = entry?.limits
        if isGRPC, var bounded = limits, let timeout = head.value(named: "grpc-timeout").flatMap(GRPCTimeout.parse) {
            // The call's deadline, within the route's.
            bounded.timeout = min(bounded.timeout, timeout)
            bounded.perTryTimeout = min(bounded.perTryTimeout, timeout)
            limits = bounded
        }
        switch machine.headRead(request, route: limits, now: now) {
        case .answer(let answer, let close, let then):
            exchange = Exchange(request: head, requestID: requestID, route: nil, isGRPC: isGRPC)
            let response =
                answer == .tooLarge && entry != nil
                ? Self.tooLarge(entry!.route) : .noRoute(String(target.prefix { $0 != "?" }))
            write(response, close: close)
            perform(then)
        case .forward(let sendContinue):
            guard let entry else { return }
            var traceFields: [(String, String)] = []
            let span = shared.tracer.map {
                Exchange.startSpan(
                    tracer: $0, request: head, route: entry.route, requestID: requestID, clientIP: clientIP,
                    http2: servesStream, traceFields: &traceFields)
            }
            var upstreamHead = spareUpstreamHead.take(
                capacity: head.bytes.count + 512, allocator: Self.allocator)
            head.writeUpstreamHead(
                target: entry.route.upstreamURI(target), hostIfMissing: entry.route.service,
                authority: requestTarget.authority, clientIP: clientIP,
                requestID: requestID, traceFields: traceFields, secure: shared.secure,
                clientCertificate: describedCertificate(), replacesClientCertificate: shared.secure, to: &upstreamHead)
            exchange = Exchange(
                request: head, requestID: requestID, route: entry, upstreamHead: upstreamHead, isGRPC: isGRPC)
            spareUpstreamHead.keep(upstreamHead)
            exchange?.span = span
            if head.hasBody {
                bodyDecoder = HTTPBodyDecoder(head.chunked ? .chunked : .length(head.contentLength ?? 0))
            }
            if sendContinue {
                writeAndFlushToClient(ByteBuffer(staticString: "HTTP/1.1 100 Continue\r\n\r\n"))
            }
            shared.upstreams[entry.index].retryBudget.deposit()
            startTry(now: now)
        }
    }

    private func requestBody(_ data: ByteBuffer) {
        switch machine.bodyRead(data) {
        case .drop, .hold(pause: false):
            break
        case .hold(pause: true):
            setClientReading(false)
        case .send:
            if let exchange, let connection = exchange.connection {
                sendBody(data, of: exchange, on: connection)
            }
        case .closeTooLarge:
            if let route = exchange?.route?.route {
                logAccess(machine.exchange, status: machine.exchange?.status ?? 0, error: Self.tooLarge(route).message)
            }
            closeClient()
        case .answerTooLarge:
            guard let route = exchange?.route?.route else { return }
            abandonTry()
            write(Self.tooLarge(route), close: true)
        }
    }

    private func requestEnd(trailers: HTTPFieldList?) {
        let (send, then) = machine.bodyEnded(trailers: trailers)
        if send, let exchange, let connection = exchange.connection {
            sendEnd(trailers: trailers, of: exchange, on: connection)
            connection.flush()
        }
        perform(then)
    }

    /// A chunked body that is not well framed: 400 if nothing was answered yet, else the
    /// connection closes.
    private func malformedBody(_ error: HTTPParseError) {
        let state = machine.exchange
        switch machine.bodyMalformed() {
        case .close(let logged):
            if logged { logAccess(state, status: state?.status ?? 0, error: error.message) }
            closeClient()
        case .answer:
            abandonTry()
            exchange?.endSpan(status: nil, tries: state?.tries ?? 0, error: error.message)
            write(.refused(error), close: true)
        }
    }

    static func tooLarge(_ route: GatewayRoute) -> GatewayErrorResponse {
        GatewayErrorResponse(status: .payloadTooLarge, message: "the body is over \(route.maxBodyBytes) bytes")
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        readComplete()
        context.fireChannelReadComplete()
    }

    /// The client's read ended: what it sent goes to the instance.
    func readComplete() {
        exchange?.connection?.flush()
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
        clientWrite(bytes)
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
        clientWrite(staged)
        spareClientHead.keep(staged)
    }

    /// Sends what was written to the client, if anything was.
    func flushClient() {
        guard clientUnflushed, isOpen else { return }
        writeStagedForClient()
        clientUnflushed = false
        clientFlush()
    }

    /// Writes `bytes` to the client and flushes, after anything written before.
    func writeAndFlushToClient(_ bytes: ByteBuffer) {
        writeStagedForClient()
        clientUnflushed = false
        clientWrite(bytes)
        clientFlush()
    }

    /// Writes an answer of the gateway's own for the exchange in progress (or for bytes that
    /// were not a request); with `close`, the connection closes after it.
    func write(_ response: GatewayErrorResponse, close: Bool) {
        guard isOpen else { return }
        let state = machine.exchange
        let status = Int(response.status.code)
        let requestID = exchange?.requestID.description
        loop.metrics.response(
            route: exchange?.route?.index, upstream: nil, status: status, started: state?.started ?? now, now: now)
        exchange?.endSpan(status: status, tries: state?.tries ?? 0)
        if exchange?.isGRPC == true {
            // A gRPC client reads the call's status, not the HTTP one: 200, and the status in
            // the header block.
            exchange?.grpcStatus = response.grpcStatus
            countGRPCCall()
            logAccess(state, status: 200, responseBytes: 0, error: response.message)
            writeAndFlushToClient(response.grpcBytes(requestID: requestID, close: close))
        } else {
            let body = response.body(requestID: requestID)
            logAccess(state, status: status, responseBytes: body.readableBytes, error: response.message)
            writeAndFlushToClient(response.bytes(body: body, requestID: requestID, close: close))
        }
        if close { closeAfterWrites() }
    }

    /// Answers a client whose bytes cannot be read as a request (or that sent too little, too
    /// slowly), then closes: nothing after them can be trusted.
    func refuseConnection(_ response: GatewayErrorResponse) {
        machine.headRefused()
        exchange = nil
        write(response, close: true)
    }

    /// Closes the connection once everything written to it is sent (a close drops what is
    /// not): the empty write completes after every write before it.
    func closeAfterWrites() {
        guard isOpen, !closeRequested else { return }
        closeRequested = true
        disarmTimer()
        writeStagedForClient()
        if let stream {
            // A stream's frames keep their order past a reset: it ends after them.
            clientUnflushed = false
            stream.flush()
            stream.close()
            return
        }
        guard let context else { return }
        context.writeAndFlush(wrapOutboundOut(ByteBuffer())).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    /// Does what follows an exchange's answer: nothing yet, a close, or the next request.
    func perform(_ then: ProxyStateMachine.Then) {
        switch then {
        case .nothing:
            break
        case .close:
            closeAfterWrites()
        case .nextRequest:
            // The client left meanwhile (an HTTP/2 stream closes as its response ends).
            guard !machine.closing else { return }
            exchange = nil
            setClientReading(true)
            machine.nextRequest(bytesWaiting: inbound.readableBytes > 0, now: now)
            armTimer()
            readInbound()
        }
    }

    /// Starts or stops reading the client (backpressure from the upstream side).
    func setClientReading(_ reading: Bool) {
        guard isOpen, clientReadingPaused == reading else { return }
        clientReadingPaused = !reading
        clientSetReading(reading)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        clientWritabilityChanged(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    /// The client can take more, or cannot: when it cannot, the instance is not read until it
    /// can, and the send timeout gives it time to take some.
    func clientWritabilityChanged(_ writable: Bool) {
        exchange?.connection?.setReading(writable)
        machine.clientWritable(writable, now: now)
        armTimer()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
