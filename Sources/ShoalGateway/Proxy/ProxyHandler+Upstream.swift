import NIOCore
import ShoalBalancing

/// Tries: picking an instance, connecting, sending, and what the instance answers. The
/// machine decides; this is the I/O.
extension ProxyHandler: UpstreamDelegate {
    /// Picks an instance not tried yet and sends the request to it.
    func startTry(now: NIODeadline) {
        guard let entry = exchange?.route, let failed = machine.exchange?.failedAddresses else { return }
        let index = entry.index
        let picker = loop.picker(route: index)
        let chosen = failed.isEmpty ? try? picker?.pick() : try? picker?.pick(avoiding: failed)
        guard let pick = chosen else {
            let (answer, close, then) = machine.pickFailed()
            answerWithError(answer, detail: "every instance tried failed", close: close, then: then)
            return
        }
        exchange?.pick = pick
        let (tryID, isRetry) = machine.picked(address: pick.address, now: now)
        if isRetry {
            // A retry: counted once an instance not tried yet is picked for it.
            shared.counters.retries.add(1, ordering: .relaxed)
            loop.metrics.retry(route: index)
        }
        exchange?.spanTry(address: pick.address, tries: machine.exchange?.tries ?? 0)
        armTimer()
        // Held until the connect ends (within the connect timeout): no weak references, which
        // would slow every retain of the handler.
        let completion = { (result: Result<UpstreamConnection, any Error>) in
            switch result {
            case .failure(let error):
                guard self.machine.exchange?.currentTry.id == tryID else { return }
                self.tryFailed(timeout: false, notRun: true, "cannot connect to \(pick.address): \(error)")
            case .success(let connection):
                self.connected(connection, tryID: tryID)
            }
        }
        if entry.route.upstreamProtocol == .h2c {
            let request = exchange?.request
            let trailers = exchange?.isGRPC == true || request?.acceptsTrailers == true
            loop.http2Pool.stream(to: pick.endpoint, acceptsTrailers: trailers, completion)
            return
        }
        if let connection = loop.pool.idleConnection(to: pick.address, now: now) {
            connected(connection, tryID: tryID)
            return
        }
        loop.pool.connect(pick.endpoint, completion)
    }

    /// The connection for try `tryID` is ready: send what the machine says, or give the
    /// connection back when that try is over.
    private func connected(_ connection: UpstreamConnection, tryID: Int) {
        switch machine.connected(tryID: tryID) {
        case .release:
            loop.pool.release(connection, now: now)
        case .send(let pending, let end):
            guard let exchange else { return }
            self.exchange?.connection = connection
            connection.delegate = self
            connection.requestIsHead = exchange.request.isHead
            connection.requestIsUpgrade = exchange.request.isUpgrade
            connection.setReading(true)
            connection.write(exchange.upstreamHead)
            for data in pending { sendBody(data, of: exchange, on: connection) }
            if end { sendEnd(trailers: machine.exchange?.requestTrailers, of: exchange, on: connection) }
            connection.flush()
            setClientReading(connection.isWritable)
        }
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
    func sendEnd(trailers: HTTPFieldList?, of exchange: Exchange, on connection: UpstreamConnection) {
        guard exchange.request.chunked else { return }
        connection.write(ChunkedEncoding.lastChunk(trailers: trailers, allocator: connection.channel.allocator))
    }

    /// Ends the current try (its pick and connection) without a verdict on the instance.
    func abandonTry() {
        let started = machine.exchange?.tryStarted ?? now
        exchange?.finishPick(.failure(.cancelled, latency: started.duration(until: now)))
        exchange?.closeConnection()
    }

    /// The current try failed: report it, then do what the machine says — retry elsewhere,
    /// answer with an error, or cut the response short.
    ///
    /// - Parameter final: no retry, whatever else allows one (the overall timeout ran out).
    /// - Parameter notRun: the failure shows the instance never ran the request.
    func tryFailed(timeout: Bool, notRun: Bool = false, _ detail: String, final: Bool = false) {
        let now = self.now
        let started = machine.exchange?.tryStarted ?? now
        let index = exchange?.route?.index
        let action = machine.tryFailed(
            timeout: timeout, now: now, final: final, notRun: notRun,
            untriedLeft: { untried(route: index, outside: $0) },
            withdrawRetry: { withdrawRetry(route: index) })
        exchange?.spanTryFailed(detail)
        exchange?.finishPick(.failure(timeout ? .timeout : .connectFailure, latency: started.duration(until: now)))
        exchange?.closeConnection()
        switch action {
        case .cutShort:
            let state = machine.exchange
            let error = "the response was cut short: \(detail)"
            logAccess(state, status: state?.status ?? 0, error: error)
            exchange?.endSpan(status: state?.status, tries: state?.tries ?? 0, error: error)
            closeClient()  // the response is cut short: only closing says so
        case .retry:
            startTry(now: now)
        case .answer(let answer, let close, let then):
            answerWithError(answer, detail: detail, close: close, then: then)
        }
    }

    private func untried(route index: Int?, outside tried: [String]) -> Bool {
        guard let index else { return false }
        return loop.picker(route: index)?.hasEndpoint(outside: tried) ?? false
    }

    private func withdrawRetry(route index: Int?) -> Bool {
        guard let index else { return false }
        return shared.upstreams[index].retryBudget.tryWithdraw()
    }

    /// Answers the exchange with an error of the gateway's own, as the machine decided.
    private func answerWithError(
        _ answer: ProxyStateMachine.Answer, detail: String, close: Bool, then: ProxyStateMachine.Then
    ) {
        guard let service = exchange?.route?.route.service else { return }
        let response: GatewayErrorResponse =
            switch answer {
            case .timedOut: .timedOut(service)
            case .noInstance: .noInstance(service)
            default: .upstreamFailed(service, detail)
            }
        write(response, close: close)
        perform(then)
    }

    // MARK: UpstreamDelegate

    func upstream(_ connection: UpstreamConnection, head: ResponseHead, framing: HTTPBodyDecoder.Framing?) {
        guard let exchange, exchange.connection === connection, isOpen else { return }
        let now = self.now
        let started = machine.exchange?.tryStarted ?? now
        let index = exchange.route?.index
        // A gRPC call's status comes in the trailers, or in the head of an answer that is
        // only a status: such an answer reached no client yet, and its route may retry it.
        let grpcStatus = exchange.isGRPC && framing == nil ? head.grpcStatus : nil
        let retryableAnswer = grpcStatus.map { exchange.route?.route.retryGRPCStatuses.contains($0) == true } ?? false
        let action = machine.upstreamHead(
            status: head.status, keepAlive: head.keepAlive, framing: framing, retryableAnswer: retryableAnswer,
            now: now,
            untriedLeft: { untried(route: index, outside: $0) }, withdrawRetry: { withdrawRetry(route: index) })
        if action != .retry {
            self.exchange?.upstreamHeadNanoseconds = (now - started).nanoseconds
        }
        if action != .retry, let grpcStatus { self.exchange?.grpcStatus = grpcStatus }
        switch action {
        case .retry:
            self.exchange?.spanTryFailed(grpcStatus.map { "answered grpc-status \($0)" } ?? "answered \(head.status)")
            self.exchange?.finishPick(.failure(.serverError, latency: started.duration(until: now)))
            self.exchange?.closeConnection()
            startTry(now: now)
        case .switchProtocols:
            // A WebSocket handshake: the client gets the `101`, and from then on the two
            // connections are a tunnel of bytes both ways until either closes. The handshake's
            // time is the try's latency; the tunnel is not a request in flight for the balancer.
            self.exchange?.finishPick(.success(latency: started.duration(until: now)))
            var buffer = Self.allocator.buffer(capacity: head.bytes.count + 64)
            head.writeSwitchingHead(requestID: exchange.requestID, to: &buffer)
            writeAndFlushToClient(buffer)
            armTimer()
            setClientReading(true)
            readInbound()  // bytes the client sent before the answer
            connection.flush()
        case .writeHead(let clientFraming, let keepAlive):
            if let stream {
                // The stream's header block, made from the instance's head at once.
                clientUnflushed = true
                stream.writeHead(head.http2ClientHeaders(requestID: exchange.requestID), framing: clientFraming)
                return
            }
            var buffer = spareClientHead.take(capacity: head.bytes.count + 256, allocator: Self.allocator)
            head.writeClientHead(
                clientFraming: clientFraming, requestID: exchange.requestID, keepAlive: keepAlive,
                clientMinorVersion: exchange.request.minorVersion, to: &buffer)
            stageForClient(buffer)
        }
    }

    func upstream(_ connection: UpstreamConnection, body: ByteBuffer) {
        guard exchange?.connection === connection, isOpen else { return }
        if machine.upstreamBodyRead(body.readableBytes, now: now) {
            writeToClient(ChunkedEncoding.chunkStart(body.readableBytes, allocator: Self.allocator))
            writeToClient(body)
            writeToClient(ChunkedEncoding.chunkEnd)
        } else {
            writeToClient(body)
        }
        if !clientIsWritable {
            // Stop reading the instance before flushing: a flush that drains the client's
            // buffer reports writability at once, and turns reading back on.
            connection.setReading(false)
            flushClient()
        }
    }

    func upstreamEnded(_ connection: UpstreamConnection, trailers: HTTPFieldList?) {
        guard exchange?.connection === connection, isOpen else { return }
        let now = self.now
        let started = machine.exchange?.tryStarted ?? now
        let end = machine.upstreamEnded()
        if let trailers, exchange?.isGRPC == true, let status = trailers.grpcStatus { exchange?.grpcStatus = status }
        countGRPCCall()
        // The balancer learns the time to the response's head, as Linkerd's Peak EWMA does: a
        // long body (a download, a stream of events) is no sign of a slow instance. The
        // request stays in flight for the balancer until the response ends.
        let latency = exchange?.upstreamHeadNanoseconds.map { .nanoseconds($0) } ?? started.duration(until: now)
        exchange?.finishPick(end.failed ? .failure(.serverError, latency: latency) : .success(latency: latency))
        exchange?.connection = nil
        // Fields, not the whole state: copying it retains everything it holds.
        let status = machine.exchange?.status ?? 0
        let tries = machine.exchange?.tries ?? 0
        loop.metrics.response(
            route: exchange?.route?.index, upstream: connection.address, status: status,
            started: machine.exchange?.started ?? now, now: now)
        if loop.accessLog != nil { logAccess(machine.exchange, status: status, upstream: connection.address) }
        if end.reuseConnection {
            loop.pool.release(connection, now: now)
        } else {
            connection.delegate = nil
            connection.close()
        }
        if end.lastChunk {
            // An HTTP/1.0 client reads to the close: no trailer section to put them in.
            writeToClient(ChunkedEncoding.lastChunk(trailers: trailers, allocator: Self.allocator))
        }
        // Before the flush: an HTTP/2 stream's channel closes as its last frame goes, within
        // the flush, and its channelInactive drops the exchange.
        exchange?.endSpan(status: status, tries: tries)
        flushClient()
        perform(end.then)
    }

    /// Counts the exchange's gRPC call, once its status is known, in the gateway's counters
    /// and metrics.
    func countGRPCCall() {
        guard let exchange, exchange.isGRPC, let status = exchange.grpcStatus else { return }
        shared.counters.grpcCalls.add(1, ordering: .relaxed)
        if status != GRPCStatus.ok { shared.counters.grpcErrors.add(1, ordering: .relaxed) }
        loop.metrics.grpcCall(route: exchange.route?.index, status: status)
    }

    func upstreamReadComplete(_ connection: UpstreamConnection) {
        guard exchange?.connection === connection else { return }
        flushClient()
    }

    func upstream(_ connection: UpstreamConnection, closedWith error: (any Error)?) {
        guard exchange?.connection === connection else { return }
        exchange?.connection = nil
        let reason = error.map { "\($0)" } ?? "it closed the connection"
        tryFailed(
            timeout: false, notRun: connection.failedBeforeRunning,
            "\(connection.address) failed before answering: \(reason)")
    }

    func upstreamWritabilityChanged(_ connection: UpstreamConnection) {
        guard exchange?.connection === connection else { return }
        setClientReading(connection.isWritable)
    }
}
