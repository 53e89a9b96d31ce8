import NIOCore
import ShoalBalancing

/// Tries: an instance picked, its connection ready, what it answers, and what a failure
/// leads to — another try, an error answer, or a response cut short.
extension ProxyStateMachine {
    /// What the balancer's picker reports to the machine when it asks whether a retry may
    /// go: whether an instance is left outside the ones tried, and whether the route's retry
    /// budget gives one (asked last: asking takes one). Non-escaping, so free to pass.
    typealias UntriedLeft = (_ tried: [String]) -> Bool
    typealias WithdrawRetry = () -> Bool

    /// No instance could be picked: answer 503 (or 502, when every instance was tried).
    mutating func pickFailed() -> (answer: Answer, close: Bool, then: Then) {
        let first = (exchange?.tries ?? 0) == 0
        return finishWithError(first ? .noInstance : .allTriesFailed)
    }

    /// The instance at `address` was picked for a try, at `now`: the try's id (for
    /// ``connected(tryID:)``), and whether it is a retry.
    mutating func picked(address: String, now: NIODeadline) -> (tryID: Int, isRetry: Bool) {
        lastTryID += 1
        let isRetry = (exchange?.tries ?? 0) > 0
        exchange?.beginTry(id: lastTryID, address: address, now: now)
        return (lastTryID, isRetry)
    }

    /// What to send on a try's connection once it is ready.
    enum ConnectedAction: Equatable {
        /// The connection is not for the current try (it ended while connecting): give it
        /// back to the pool.
        case release
        /// Write the request's head, then `pending` body data; with `end`, the body's end.
        case send(pending: [ByteBuffer], end: Bool)
    }

    /// The connection for try `tryID` is ready.
    mutating func connected(tryID: Int) -> ConnectedAction {
        guard exchange?.connect(id: tryID) == true, let pending = exchange?.takePending() else { return .release }
        return .send(pending: pending, end: exchange?.requestEnded == true)
    }

    /// What follows a failed try.
    enum TryFailedAction: Equatable {
        /// Pick another instance and try again.
        case retry
        /// Answer with an error of the gateway's own.
        case answer(Answer, close: Bool, then: Then)
        /// The response began already: only closing the client's connection says it was cut.
        case cutShort
    }

    /// The current try failed (`timeout` when its time ran out); `final` allows no retry,
    /// whatever else would (the overall timeout ran out). `notRun` says the failure shows
    /// the instance never ran the request (a refused connection or stream): a request whose
    /// body was kept may then go again, though it is not idempotent.
    mutating func tryFailed(
        timeout: Bool = false, now: NIODeadline, final: Bool = false, notRun: Bool = false,
        untriedLeft: UntriedLeft, withdrawRetry: WithdrawRetry
    ) -> TryFailedAction {
        guard exchange != nil else { return .cutShort }
        if exchange?.responseStarted == true {
            exchange?.failTry()
            _ = close()
            return .cutShort
        }
        let resendable = notRun && exchange?.keepsSent == true
        if !final, let exchange,
            mayRetry(
                exchange, resendable: resendable, now: now, untriedLeft: untriedLeft, withdrawRetry: withdrawRetry)
        {
            self.exchange?.failTry()
            _ = self.exchange?.rewindBody()
            return .retry
        }
        exchange?.failTry()
        let answer = finishWithError(timeout ? .timedOut : .upstreamFailed)
        return .answer(answer.answer, close: answer.close, then: answer.then)
    }

    /// Whether another try may follow: ``RetryRule``, the one rule the gateway and
    /// `ServiceClient` share.
    ///
    /// - Parameter resendable: the request may go again though it is not idempotent (the try
    ///   cannot have run it, or its route retries the answer, and its body was kept).
    private func mayRetry(
        _ exchange: ExchangeState, resendable: Bool = false, now: NIODeadline, untriedLeft: UntriedLeft,
        withdrawRetry: WithdrawRetry
    ) -> Bool {
        guard let route = exchange.route else { return false }
        var tried = exchange.failedAddresses
        if let address = exchange.currentTry.address { tried.append(address) }
        return RetryRule(retries: route.retries).allowsAnotherTry(
            triesSoFar: exchange.tries, repeatable: exchange.request.repeatable || resendable,
            answerStarted: exchange.responseStarted, timeLeft: now < exchange.deadline,
            untriedLeft: { untriedLeft(tried) }, withdraw: withdrawRetry)
    }

    /// Ends the exchange with an error of the gateway's own.
    private mutating func finishWithError(_ answer: Answer) -> (answer: Answer, close: Bool, then: Then) {
        guard exchange != nil else { return (answer, close: false, then: .nothing) }
        exchange?.stopClocks()
        exchange?.responseEnded = true
        // An unread request body: the connection cannot carry another request.
        if exchange?.requestEnded == false && exchange?.request.hasBody == true { closeAfterResponse = true }
        let closes = closeAfterResponse
        if closes { _ = close() }
        return (answer, closes, finishIfDone())
    }

    /// What to do with the instance's response head.
    enum UpstreamHeadAction: Equatable {
        /// It answered 502 or 503 and a retry may go: the try failed (already counted);
        /// pick another instance.
        case retry
        /// It agreed to switch protocols: send the `101` and tunnel bytes both ways.
        case switchProtocols
        /// Write the head to the client, its body framed as `clientFraming` (`nil`: none);
        /// `keepAlive` says whether the connection stays open after it.
        case writeHead(clientFraming: HTTPBodyDecoder.Framing?, keepAlive: Bool)
    }

    /// The instance's final response head came: `status`, whether the instance keeps the
    /// connection open, and its body's framing (`nil` for none). `retryableAnswer` says the
    /// route retries this answer whatever the request (a gRPC status it lists), when the
    /// body sent was kept.
    mutating func upstreamHead(
        status: Int, keepAlive: Bool, framing: HTTPBodyDecoder.Framing?, retryableAnswer: Bool = false,
        now: NIODeadline, untriedLeft: UntriedLeft, withdrawRetry: WithdrawRetry
    ) -> UpstreamHeadAction {
        guard let request = exchange?.request else { return .writeHead(clientFraming: nil, keepAlive: false) }
        let resendable = retryableAnswer && exchange?.keepsSent == true
        if status == 502 || status == 503 || resendable, let exchange,
            mayRetry(
                exchange, resendable: resendable, now: now, untriedLeft: untriedLeft, withdrawRetry: withdrawRetry)
        {
            self.exchange?.failTry()
            _ = self.exchange?.rewindBody()
            return .retry
        }
        if status == 101 {
            exchange?.beginResponse(status: 101, upstreamKeepAlive: false, clientFraming: .untilClose)
            closeAfterResponse = true
            reading = .tunnel
            tunnelActive = now
            return .switchProtocols
        }
        // A body of unknown length goes to an HTTP/1.1 client in chunks; an HTTP/1.0 client
        // reads it to the connection's end.
        let clientFraming = framing?.forClient(minorVersion: request.minorVersion)
        exchange?.beginResponse(
            status: status, upstreamKeepAlive: keepAlive && framing != .untilClose, clientFraming: clientFraming)
        let clientKeepAlive =
            !closeAfterResponse && request.keepAlive && !draining && clientFraming != .untilClose
        return .writeHead(clientFraming: clientFraming, keepAlive: clientKeepAlive)
    }

    /// `count` bytes of the response's body came: whether they go to the client in a chunk.
    mutating func upstreamBodyRead(_ count: Int, now: NIODeadline) -> Bool {
        exchange?.responseBytes += count
        if reading == .tunnel { tunnelActive = now }
        return exchange?.clientFraming == .chunked
    }

    /// How to end a response.
    struct ResponseEnd: Equatable {
        /// Whether the instance failed (a 5xx): the balancer learns it.
        var failed: Bool
        /// Whether its connection goes back to the pool; otherwise it closes.
        var reuseConnection: Bool
        /// Whether the client's chunked body gets its last chunk (with the trailers).
        var lastChunk: Bool
        var then: Then
    }

    /// The instance's response ended.
    mutating func upstreamEnded() -> ResponseEnd {
        guard exchange != nil else {
            return ResponseEnd(failed: false, reuseConnection: false, lastChunk: false, then: .nothing)
        }
        exchange?.endTry()
        exchange?.responseEnded = true
        let bodyUnread = exchange?.requestEnded == false && exchange?.request.hasBody == true
        if bodyUnread { closeAfterResponse = true }
        return ResponseEnd(
            failed: (exchange?.status ?? 0) >= 500, reuseConnection: exchange?.upstreamKeepAlive == true && !bodyUnread,
            lastChunk: exchange?.clientFraming == .chunked, then: finishIfDone())
    }
}
