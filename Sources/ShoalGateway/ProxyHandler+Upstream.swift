import NIOCore
import NIOHTTP1
import ShoalBalancing

/// Tries: picking an instance, connecting, sending, and what the instance answers.
extension ProxyHandler: UpstreamDelegate {
    /// Picks an instance not tried yet and sends the request to it.
    func startTry() {
        guard let exchange, let (index, route) = exchange.route else { return }
        guard let picker = loop.picker(route: index) else {
            finishWithError(.noInstance(route.service), exchange)
            return
        }
        let chosen = exchange.tried.isEmpty ? try? picker.pick() : try? picker.pick(avoiding: Array(exchange.tried))
        guard let pick = chosen else {
            finishWithError(
                exchange.tries == 0
                    ? .noInstance(route.service)
                    : .upstreamFailed(route.service, "every instance tried failed"), exchange)
            return
        }
        exchange.pick = pick
        exchange.tries += 1
        exchange.tried.insert(pick.endpoint.address)
        exchange.spanTry(address: pick.endpoint.address)
        exchange.tryStarted = .now()
        let attempt = exchange.tries
        exchange.tryDeadline = min(exchange.tryStarted + route.perTryTimeout.timeAmount, exchange.deadline)
        armTimer()
        loop.pool.acquire(pick.endpoint) { [weak self, weak exchange] result in
            guard let self, let exchange, self.exchange === exchange, exchange.tries == attempt else {
                if case .success(let connection) = result { self?.loop.pool.release(connection) }
                return
            }
            switch result {
            case .failure(let error):
                self.tryFailed(.connectFailure, "cannot connect to \(pick.endpoint.address): \(error)")
            case .success(let connection):
                self.send(on: connection, exchange)
            }
        }
    }

    private func send(on connection: UpstreamConnection, _ exchange: Exchange) {
        exchange.connection = connection
        connection.delegate = self
        connection.requests += 1
        connection.setReading(true)
        connection.write(.head(exchange.upstreamHead))
        for buffer in exchange.pending { connection.write(.body(.byteBuffer(buffer))) }
        exchange.pending = []
        exchange.pendingBytes = 0
        if exchange.requestEnded { connection.write(.end(nil)) }
        connection.flush()
        setClientReading(connection.channel.isWritable)
    }

    /// Whether a failed try may be followed by another: nothing reached the client, the
    /// request can be repeated, tries and time are left, and the retry budget allows.
    private func mayRetry(_ exchange: Exchange) -> Bool {
        guard let route = exchange.route?.route, !exchange.responseStarted, exchange.retryable,
            exchange.tries <= route.retries, NIODeadline.now() < exchange.deadline
        else { return false }
        return shared.upstreams[exchange.route!.index].retryBudget.tryWithdraw()
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
        exchange.pick?.finish(.failure(kind, latency: exchange.tryStarted.elapsed))
        exchange.pick = nil
        if let connection = exchange.connection {
            connection.delegate = nil
            connection.close()
            exchange.connection = nil
        }
        if exchange.responseStarted {
            exchange.endSpan(
                status: exchange.status.map { Int($0.code) }, error: "the response was cut short: \(detail)")
            context?.close(promise: nil)  // the response is cut short: only closing says so
            return
        }
        if !final && (retryGranted || mayRetry(exchange)) {
            shared.counters.retries.add(1, ordering: .relaxed)
            if let index = exchange.route?.index { loop.metrics.retry(route: index) }
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

    func upstream(_ connection: UpstreamConnection, read part: HTTPClientResponsePart) {
        guard let exchange, exchange.connection === connection, let context else { return }
        switch part {
        case .head(let head):
            if head.status == .badGateway || head.status == .serviceUnavailable, mayRetry(exchange) {
                tryFailed(.serverError, "answered \(head.status.code)", retryGranted: true)
                return
            }
            exchange.stopClocks()
            exchange.responseStarted = true
            exchange.upstreamKeepAlive = head.isKeepAlive
            exchange.status = head.status
            let close = closeAfterResponse || !exchange.head.isKeepAlive || shared.isDraining
            context.write(
                wrapOutboundOut(.head(ForwardedHeaders.clientHead(head, requestID: exchange.requestID, close: close))),
                promise: nil)
        case .body(let buffer):
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            if !context.channel.isWritable {
                // Stop reading the instance before flushing: a flush that drains the client's
                // buffer reports writability at once, and turns reading back on.
                connection.setReading(false)
                context.flush()
            }
        case .end(let trailers):
            let latency = exchange.tryStarted.elapsed
            let failed = (exchange.status?.code ?? 0) >= 500
            exchange.pick?.finish(failed ? .failure(.serverError, latency: latency) : .success(latency: latency))
            exchange.pick = nil
            exchange.stopClocks()
            exchange.connection = nil
            loop.metrics.response(
                route: exchange.route?.index, upstream: connection.address, status: Int(exchange.status?.code ?? 0),
                started: exchange.started)
            if exchange.upstreamKeepAlive && (exchange.requestEnded || !exchange.hasBody) {
                loop.pool.release(connection)
            } else {
                connection.delegate = nil
                connection.close()
            }
            if !exchange.requestEnded && exchange.hasBody { closeAfterResponse = true }
            lastEndWrite = context.writeAndFlush(wrapOutboundOut(.end(trailers)))
            exchange.endSpan(status: Int(exchange.status?.code ?? 0))
            exchange.responseEnded = true
            finishIfDone()
        }
    }

    func upstreamReadComplete(_ connection: UpstreamConnection) {
        guard exchange?.connection === connection else { return }
        context?.flush()
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
