import NIOCore
import ShoalBalancing

/// Tries: picking an instance, connecting, sending, and what the instance answers.
extension ProxyHandler: UpstreamDelegate {
    /// Picks an instance not tried yet and sends the request to it; `now` is the time, when
    /// the caller has it.
    func startTry(now: NIODeadline = .now()) {
        guard let exchange, let entry = exchange.route else { return }
        let (index, route) = (entry.index, entry.route)
        guard let picker = loop.picker(route: index) else {
            finishWithError(.noInstance(route.service), exchange)
            return
        }
        let chosen =
            exchange.failedAddresses.isEmpty
            ? try? picker.pick() : try? picker.pick(avoiding: exchange.failedAddresses)
        guard let pick = chosen else {
            finishWithError(
                exchange.tries == 0
                    ? .noInstance(route.service)
                    : .upstreamFailed(route.service, "every instance tried failed"), exchange)
            return
        }
        exchange.pick = pick
        if exchange.tries > 0 {
            // A retry: counted once an instance not tried yet is picked for it.
            shared.counters.retries.add(1, ordering: .relaxed)
            loop.metrics.retry(route: index)
        }
        exchange.tries += 1
        exchange.spanTry(address: pick.address)
        exchange.tryStarted = now
        let attempt = exchange.tries
        exchange.tryDeadline = min(exchange.tryStarted + route.perTryTimeout.timeAmount, exchange.deadline)
        armTimer()
        if let connection = loop.pool.idleConnection(to: pick.address, now: now) {
            send(on: connection, exchange)
            return
        }
        // Held until the connect ends (within the connect timeout): no weak references, which
        // would slow every retain of the handler and the exchange.
        loop.pool.connect(pick.endpoint) { result in
            guard self.exchange === exchange, exchange.tries == attempt else {
                if case .success(let connection) = result { self.loop.pool.release(connection) }
                return
            }
            switch result {
            case .failure(let error):
                self.tryFailed(.connectFailure, "cannot connect to \(pick.address): \(error)")
            case .success(let connection):
                self.send(on: connection, exchange)
            }
        }
    }

    private func send(on connection: UpstreamConnection, _ exchange: Exchange) {
        exchange.connection = connection
        connection.delegate = self
        connection.requestIsHead = exchange.request.isHead
        connection.requestIsUpgrade = exchange.request.isUpgrade
        connection.setReading(true)
        connection.write(exchange.upstreamHead)
        for data in exchange.pending { sendBody(data, of: exchange, on: connection) }
        exchange.pending = []
        exchange.pendingBytes = 0
        if exchange.requestEnded { sendEnd(of: exchange, on: connection) }
        connection.flush()
        setClientReading(connection.channel.isWritable)
    }

    /// Writes body data to the instance as the request frames it: chunked bodies stay
    /// chunked (with the gateway's own chunk sizes), others go as they are.
    func sendBody(_ data: ByteBuffer, of exchange: Exchange, on connection: UpstreamConnection) {
        if exchange.request.chunked {
            connection.write(ChunkedEncoding.chunkStart(data.readableBytes, allocator: connection.channel.allocator))
            connection.write(data)
            connection.write(ChunkedEncoding.chunkEnd)
        } else {
            connection.write(data)
        }
    }

    /// Writes what ends the request's body, if its framing has anything: the last chunk, with
    /// the trailer fields that may go on.
    func sendEnd(of exchange: Exchange, on connection: UpstreamConnection) {
        guard exchange.request.chunked else { return }
        connection.write(
            ChunkedEncoding.lastChunk(trailers: exchange.requestTrailers, allocator: connection.channel.allocator))
    }

    /// Whether a failed try may be followed by another: nothing reached the client, the
    /// request can be repeated, tries and time are left, and the retry budget allows.
    private func mayRetry(_ exchange: Exchange) -> Bool {
        guard let entry = exchange.route else { return false }
        let failed = exchange.failedAddresses + (exchange.pick.map { [$0.address] } ?? [])
        return RetryRule(retries: entry.route.retries).allowsAnotherTry(
            triesSoFar: exchange.tries, repeatable: exchange.retryable, answerStarted: exchange.responseStarted,
            timeLeft: NIODeadline.now() < exchange.deadline,
            untriedLeft: loop.picker(route: entry.index)?.hasEndpoint(outside: failed) ?? false,
            budget: shared.upstreams[entry.index].retryBudget)
    }

    /// Ends the current try (its pick and connection) without a verdict on the instance.
    func abandonTry() {
        guard let exchange else { return }
        exchange.tryDeadline = nil
        exchange.pick?.finish(.failure(.cancelled, latency: exchange.tryStarted.elapsed))
        exchange.pick = nil
        exchange.connection?.delegate = nil
        exchange.connection?.close()
        exchange.connection = nil
    }

    /// The current try failed: report it, then retry elsewhere or answer with an error.
    ///
    /// - Parameters:
    ///   - final: no retry, whatever else allows one (the overall timeout ran out).
    ///   - retryGranted: the caller already asked ``mayRetry(_:)`` (which takes from the
    ///     retry budget) and it said yes.
    func tryFailed(_ kind: PickOutcome.FailureKind, _ detail: String, final: Bool = false, retryGranted: Bool = false) {
        guard let exchange, let route = exchange.route?.route else { return }
        exchange.tryDeadline = nil
        exchange.spanTryFailed(detail)
        if let pick = exchange.pick { exchange.failedAddresses.append(pick.address) }
        exchange.pick?.finish(.failure(kind, latency: exchange.tryStarted.elapsed))
        exchange.pick = nil
        if let connection = exchange.connection {
            connection.delegate = nil
            connection.close()
            exchange.connection = nil
        }
        if exchange.responseStarted {
            logAccess(exchange, status: exchange.status ?? 0, error: "the response was cut short: \(detail)")
            exchange.endSpan(
                status: exchange.status, error: "the response was cut short: \(detail)")
            context?.close(promise: nil)  // the response is cut short: only closing says so
            return
        }
        if !final && (retryGranted || mayRetry(exchange)) {
            startTry()
            return
        }
        finishWithError(kind == .timeout ? .timedOut(route.service) : .upstreamFailed(route.service, detail), exchange)
    }

    /// Answers the exchange with an error of the gateway's own.
    private func finishWithError(_ response: GatewayErrorResponse, _ exchange: Exchange) {
        exchange.stopClocks()
        // Unread request body: the connection cannot carry another request.
        if !exchange.requestEnded && exchange.hasBody { closeAfterResponse = true }
        write(response, requestID: exchange.requestID, close: closeAfterResponse)
        exchange.responseEnded = true
        finishIfDone()
    }

    // MARK: UpstreamDelegate

    func upstream(_ connection: UpstreamConnection, head: ResponseHead, framing: HTTPBodyDecoder.Framing?) {
        guard let exchange, exchange.connection === connection, let context else { return }
        if head.status == 502 || head.status == 503, mayRetry(exchange) {
            tryFailed(.serverError, "answered \(head.status)", retryGranted: true)
            return
        }
        if head.status == 101 {
            switchProtocols(head, exchange, context)
            return
        }
        // A body of unknown length goes to an HTTP/1.1 client in chunks; an HTTP/1.0 client
        // reads it to the connection's end.
        let clientFraming = framing?.forClient(minorVersion: exchange.request.minorVersion)
        exchange.beginResponse(
            status: head.status, upstreamKeepAlive: head.keepAlive && framing != .untilClose,
            clientFraming: clientFraming, timed: loop.accessLog != nil)
        let keepAlive =
            !closeAfterResponse && exchange.request.keepAlive && !shared.isDraining && clientFraming != .untilClose
        var buffer = context.channel.allocator.buffer(capacity: head.bytes.count + 256)
        head.writeClientHead(
            clientFraming: clientFraming, requestID: exchange.requestID, keepAlive: keepAlive,
            clientMinorVersion: exchange.request.minorVersion, to: &buffer)
        stageForClient(buffer)
    }

    /// The instance agreed to switch protocols (a WebSocket handshake): the client gets the
    /// `101`, and from then on the two connections are a tunnel of bytes both ways until
    /// either closes. The handshake's time is the try's latency; the tunnel is not a request
    /// in flight for the balancer.
    private func switchProtocols(_ head: ResponseHead, _ exchange: Exchange, _ context: ChannelHandlerContext) {
        exchange.beginResponse(
            status: 101, upstreamKeepAlive: false, clientFraming: .untilClose, timed: loop.accessLog != nil)
        exchange.pick?.finish(.success(latency: exchange.tryStarted.elapsed))
        exchange.pick = nil
        closeAfterResponse = true
        var buffer = context.channel.allocator.buffer(capacity: head.bytes.count + 64)
        head.writeSwitchingHead(requestID: exchange.requestID, to: &buffer)
        writeAndFlushToClient(buffer)
        reading = .tunnel
        tunnelActive = .now()
        armTimer()
        setClientReading(true)
        readInbound()  // bytes the client sent before the answer
        exchange.connection?.flush()
    }

    func upstream(_ connection: UpstreamConnection, body: ByteBuffer) {
        guard let exchange, exchange.connection === connection, let context else { return }
        exchange.responseBytes += body.readableBytes
        if case .tunnel = reading { tunnelActive = .now() }
        if exchange.clientFraming == .chunked {
            writeToClient(ChunkedEncoding.chunkStart(body.readableBytes, allocator: context.channel.allocator))
            writeToClient(body)
            writeToClient(ChunkedEncoding.chunkEnd)
        } else {
            writeToClient(body)
        }
        if !context.channel.isWritable {
            // Stop reading the instance before flushing: a flush that drains the client's
            // buffer reports writability at once, and turns reading back on.
            connection.setReading(false)
            flushClient()
        }
    }

    func upstreamEnded(_ connection: UpstreamConnection, trailers: HTTPFieldList?) {
        guard let exchange, exchange.connection === connection, let context else { return }
        let now = NIODeadline.now()
        let latency = Duration.nanoseconds((now - exchange.tryStarted).nanoseconds)
        let failed = (exchange.status ?? 0) >= 500
        exchange.pick?.finish(failed ? .failure(.serverError, latency: latency) : .success(latency: latency))
        exchange.pick = nil
        exchange.stopClocks()
        exchange.connection = nil
        loop.metrics.response(
            route: exchange.route?.index, upstream: connection.address, status: exchange.status ?? 0,
            started: exchange.started, now: now)
        logAccess(exchange, status: exchange.status ?? 0, upstream: connection.address)
        if exchange.upstreamKeepAlive && (exchange.requestEnded || !exchange.hasBody) {
            loop.pool.release(connection, now: now)
        } else {
            connection.delegate = nil
            connection.close()
        }
        if !exchange.requestEnded && exchange.hasBody { closeAfterResponse = true }
        if exchange.clientFraming == .chunked {
            // An HTTP/1.0 client reads to the close: no trailer section to put them in.
            writeToClient(ChunkedEncoding.lastChunk(trailers: trailers, allocator: context.channel.allocator))
        }
        flushClient()
        exchange.endSpan(status: exchange.status ?? 0)
        exchange.responseEnded = true
        finishIfDone()
    }

    func upstreamReadComplete(_ connection: UpstreamConnection) {
        guard exchange?.connection === connection else { return }
        flushClient()
    }

    func upstream(_ connection: UpstreamConnection, closedWith error: (any Error)?) {
        guard let exchange, exchange.connection === connection else { return }
        exchange.connection = nil
        let reason = error.map { "\($0)" } ?? "it closed the connection"
        tryFailed(.connectFailure, "\(connection.address) failed before answering: \(reason)")
    }

    func upstreamWritabilityChanged(_ connection: UpstreamConnection) {
        guard exchange?.connection === connection else { return }
        setClientReading(connection.channel.isWritable)
    }
}
