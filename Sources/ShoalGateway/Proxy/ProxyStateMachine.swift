import NIOCore

/// The decisions of one client connection of the gateway, and of its exchanges, one at a
/// time: a value with no I/O, which ``ProxyHandler`` drives.
///
/// The handler reads bytes and parses them, picks instances, opens connections and writes;
/// it tells the machine what happened (an event: a method here) and does what the machine
/// answers (an action). Time comes in with each event, from the event loop. Everything the
/// gateway decides — what the client's next bytes are, when a timeout fires and what it
/// does, whether a failed try is retried or answered with an error, whether the connection
/// stays open after an exchange — is here, where a test drives it without a socket.
///
/// Its state is changed only by its own methods, here and in `ProxyStateMachine+Tries.swift`;
/// the handler reads it (``reading``, ``exchange``, ``nextDeadline``) and never sets it.
struct ProxyStateMachine {
    /// The connection's timeouts and limits.
    struct Limits: Equatable {
        var headerTimeout: TimeAmount
        var idleTimeout: TimeAmount
        var tunnelIdleTimeout: TimeAmount
        /// The most bytes held (of early requests, or of a body with no connection ready)
        /// before reading the client pauses.
        var maxHeldBytes: Int
        /// How long the client may take none of what is written to it.
        var sendTimeout: TimeAmount = .seconds(60)
        /// How long a connection between requests stays open once a drain begins.
        var drainIdleGrace: TimeAmount = .zero
    }

    /// What the next bytes from the client are.
    enum Reading: Equatable {
        /// A request's head.
        case head
        /// The current request's body.
        case body
        /// The next request's: they wait until the current response ends (pipelining).
        case held
        /// Nothing of use: the connection closes after its last answer.
        case dropping
        /// Bytes of the protocol the instance switched to: they go to it as they are.
        case tunnel
    }

    /// An answer of the gateway's own.
    enum Answer: Equatable {
        case noRoute
        case tooLarge
        case noInstance
        case allTriesFailed
        case upstreamFailed
        case timedOut
    }

    /// What follows an exchange's answer.
    enum Then: Equatable {
        /// Nothing yet: the request's body is still coming.
        case nothing
        /// Close the connection once what was written is sent.
        case close
        /// Read the next request: call ``nextRequest(bytesWaiting:now:)``.
        case nextRequest
    }

    let limits: Limits
    var reading = Reading.head
    /// The exchange in progress.
    var exchange: ExchangeState?
    /// Set when the connection must close once the current response ends.
    var closeAfterResponse = false
    /// Set once the connection is closing.
    private(set) var closing = false
    /// Set once a graceful shutdown began.
    private(set) var draining = false
    /// Whether bytes of the next request have arrived.
    private var sawBytes = false
    /// When the wait for a head ends while no exchange is in progress, and whether it is the
    /// idle wait (no byte yet) or the header wait.
    private var waitDeadline: NIODeadline?
    private var waitIsIdle = false
    /// When the current wait began: for the header wait, when the head's first byte came.
    private(set) var waitStarted: NIODeadline
    /// When a tunnel last carried a byte, either way.
    var tunnelActive: NIODeadline
    /// The last try's id: each try gets the next, so a late connection is told apart.
    var lastTryID = 0

    /// A connection accepted at `now`: its first head must come within the header timeout.
    init(limits: Limits, now: NIODeadline) {
        self.limits = limits
        waitStarted = now
        tunnelActive = now
        startWaiting(idle: false, now: now)
    }

    /// When the connection's timer must next fire, if at all.
    var nextDeadline: NIODeadline? {
        if closing { return nil }
        let stalled = sendStalledSince.map { $0 + limits.sendTimeout }
        let next: NIODeadline?
        if reading == .tunnel {
            next = tunnelActive + limits.tunnelIdleTimeout
        } else {
            next = exchange == nil ? waitDeadline : exchange?.nextDeadline
        }
        guard let stalled else { return next }
        return next.map { min($0, stalled) } ?? stalled
    }

    /// Since when the client has taken nothing written to it (its connection, or its
    /// stream, is not writable); `nil` while it is.
    private(set) var sendStalledSince: NIODeadline?

    /// Whether the client's connection (or stream) can take more writes, as it changed at `now`.
    mutating func clientWritable(_ writable: Bool, now: NIODeadline) {
        if writable {
            sendStalledSince = nil
        } else if sendStalledSince == nil {
            sendStalledSince = now
        }
    }

    private mutating func startWaiting(idle: Bool, now: NIODeadline) {
        waitIsIdle = idle
        waitStarted = now
        waitDeadline = now + (idle ? limits.idleTimeout : limits.headerTimeout)
    }

    /// Closes once written: nothing more is read. `false` if the connection was closing already.
    mutating func close() -> Bool {
        reading = .dropping
        guard !closing else { return false }
        closing = true
        return true
    }

    // MARK: The client's bytes

    /// Bytes came from the client; `false` when they are of no use (the connection is going).
    mutating func bytesArrived(now: NIODeadline) -> Bool {
        if reading == .dropping { return false }
        if exchange == nil && !sawBytes {
            // The idle wait becomes a wait for the rest of the head.
            sawBytes = true
            if waitIsIdle { startWaiting(idle: false, now: now) }
        }
        if reading == .tunnel { tunnelActive = now }
        return true
    }

    /// `bytes` of early requests are held: whether reading the client should pause.
    func shouldPause(holding bytes: Int) -> Bool {
        bytes > limits.maxHeldBytes
    }

    /// What to do with a request's head.
    enum HeadAction: Equatable {
        /// Answer it without an instance; `close` closes the connection after the answer.
        case answer(Answer, close: Bool, then: Then)
        /// Send it to an instance: pick one (``picked(address:now:)``); first answer
        /// `100 Continue` if asked. Its body, if any, follows.
        case forward(sendContinue: Bool)
    }

    /// A request's head was read. `route` is its route's limits, or `nil` when none matches.
    mutating func headRead(_ request: ExchangeState.Request, route: ExchangeState.Route?, now: NIODeadline)
        -> HeadAction
    {
        waitDeadline = nil
        var exchange = ExchangeState(request: request, route: route, started: now)
        let refusal: Answer? =
            if route == nil {
                .noRoute
            } else if let length = request.contentLength, length > route!.maxBodyBytes {
                .tooLarge
            } else {
                nil
            }
        if let refusal {
            // The body (if any) is not read: the connection closes after the answer.
            exchange.responseEnded = true
            exchange.requestEnded = !request.hasBody
            self.exchange = exchange
            reading = request.hasBody ? .dropping : .held
            let close = request.hasBody || !request.keepAlive || closeAfterResponse
            if close {
                closeAfterResponse = true
                _ = self.close()
            }
            return .answer(refusal, close: close, then: finishIfDone())
        }
        if request.hasBody {
            reading = .body
        } else {
            reading = .held
            exchange.requestEnded = true
        }
        self.exchange = exchange
        return .forward(sendContinue: request.hasBody && request.expectsContinue)
    }

    /// What to do with a piece of the request's body.
    enum BodyAction: Equatable {
        /// Nothing: the request was refused and its body is dropped.
        case drop
        /// Write it to the instance.
        case send
        /// It is held until a connection is ready; `pause` stops reading the client.
        case hold(pause: Bool)
        /// The body passed the route's limit: end the try and answer 413, then close.
        case answerTooLarge
        /// The body passed the route's limit after the response began: log it and close now.
        case closeTooLarge
    }

    /// A piece of the request's body was read.
    mutating func bodyRead(_ data: ByteBuffer) -> BodyAction {
        guard exchange?.route != nil else { return .drop }
        guard exchange?.countBody(data.readableBytes) == true else {
            reading = .dropping
            guard exchange?.responseStarted == false else { return .closeTooLarge }
            exchange?.abandonTry()
            exchange?.stopClocks()
            exchange?.responseEnded = true
            closeAfterResponse = true
            _ = close()
            return .answerTooLarge
        }
        if case .connected = exchange?.currentTry {
            exchange?.noteSent(data)
            return .send
        }
        return .hold(pause: shouldPause(holding: exchange?.hold(data) ?? 0))
    }

    /// The request's body ended (with `trailers` when chunked and it had any). With `send`,
    /// write its end to the instance.
    mutating func bodyEnded(trailers: HTTPFieldList?) -> (send: Bool, then: Then) {
        guard exchange != nil else { return (false, .nothing) }
        reading = .held
        exchange?.requestTrailers = trailers
        exchange?.requestEnded = true
        if case .connected = exchange?.currentTry { return (true, finishIfDone()) }
        return (false, finishIfDone())
    }

    /// What to do when the request's body is not well framed.
    enum MalformedBodyAction: Equatable {
        /// End the try and answer 400, then close.
        case answer
        /// Close now: an answer began, or there is nothing to answer.
        case close(logged: Bool)
    }

    /// The request's body could not be read.
    mutating func bodyMalformed() -> MalformedBodyAction {
        reading = .dropping
        guard exchange?.responseStarted == false, exchange?.responseEnded == false else {
            return .close(logged: exchange != nil)
        }
        exchange?.abandonTry()
        exchange?.stopClocks()
        exchange?.responseEnded = true
        closeAfterResponse = true
        _ = close()
        return .answer
    }

    /// The bytes read are not a request (a head too long, or not HTTP): answer and close.
    mutating func headRefused() {
        closeAfterResponse = true
        _ = close()
    }

    /// Bytes from the client went through the tunnel.
    mutating func tunnelRead(_ count: Int, now: NIODeadline) {
        _ = exchange?.countBody(count)
        tunnelActive = now
    }

    // MARK: Ending an exchange

    /// Ends the exchange once both the request and the response have. The ended exchange
    /// stays, for the access log, until the next request begins.
    mutating func finishIfDone() -> Then {
        guard exchange?.responseEnded == true else { return .nothing }
        guard exchange?.requestEnded == true else {
            // Answered before the whole body came: the rest cannot be skipped on this connection.
            return closeAfterResponse && close() ? .close : .nothing
        }
        if closeAfterResponse || exchange?.request.keepAlive == false || draining
            || exchange?.clientFraming == .untilClose
        {
            return close() ? .close : .nothing
        }
        return .nextRequest
    }

    /// Reads the next request after an exchange ended; `bytesWaiting` says whether bytes of
    /// it came already.
    mutating func nextRequest(bytesWaiting: Bool, now: NIODeadline) {
        exchange = nil
        reading = .head
        sawBytes = bytesWaiting
        startWaiting(idle: !bytesWaiting, now: now)
    }

    /// What to do when the client's connection closed.
    enum ClientClosedAction: Equatable {
        /// Nothing was in progress.
        case nothing
        /// An exchange was: end its try as cancelled and close its connection. `tunnel` when
        /// it was a tunnel (which the client may end); `status` is what the client got.
        case abandon(tunnel: Bool, status: Int)
    }

    /// The client's connection closed.
    mutating func clientClosed() -> ClientClosedAction {
        reading = .dropping
        closing = true
        guard let exchange, !exchange.responseEnded else { return .nothing }
        self.exchange = nil
        let status = exchange.responseStarted ? exchange.status ?? 0 : 0
        return .abandon(tunnel: exchange.status == 101, status: status)
    }

    /// A graceful shutdown began at `now`: `true` to close now. Otherwise the connection
    /// closes after the response in progress, or, between requests, after the next response
    /// or once it has waited ``Limits/drainIdleGrace`` for one (the timer closes it then),
    /// whichever comes first.
    mutating func drain(now: NIODeadline) -> Bool {
        draining = true
        closeAfterResponse = true
        if exchange != nil && !closing { return false }
        if closing || limits.drainIdleGrace <= .zero { return close() }
        // Part of a head came: it is answered (within the header timeout), then the connection closes.
        if sawBytes { return false }
        let graceEnds = now + limits.drainIdleGrace
        waitDeadline = waitDeadline.map { min($0, graceEnds) } ?? graceEnds
        return false
    }

    /// A graceful shutdown began before this connection's first request: it closes after
    /// one exchange, however the client asks to keep it open.
    mutating func drainAfterNextResponse() {
        draining = true
        closeAfterResponse = true
    }

    // MARK: Timers

    /// What the timer's firing means.
    enum TimerAction: Equatable {
        /// Nothing is due yet: arm the timer for ``nextDeadline``.
        case rearm
        /// The tunnel carried nothing for its idle timeout: close.
        case closeIdleTunnel
        /// The current try ran out of time: a try failure (``tryFailed(_:now:final:untriedLeft:withdrawRetry:)``),
        /// `final` when the overall timeout ran out (no retry).
        case tryTimedOut(final: Bool)
        /// No request came while idle: close quietly.
        case closeIdle
        /// Part of a head came, too slowly (slowloris, or a client that stalled): answer 408
        /// and close.
        case headTimedOut
        /// The client took nothing written to it for the send timeout: close (an HTTP/2
        /// stream is reset).
        case closeSendTimedOut
    }

    /// The connection's timer fired at `now`.
    mutating func timerFired(now: NIODeadline) -> TimerAction {
        if closing { return .rearm }
        if let since = sendStalledSince, since + limits.sendTimeout <= now {
            _ = close()
            return .closeSendTimedOut
        }
        if reading == .tunnel {
            guard tunnelActive + limits.tunnelIdleTimeout > now else {
                _ = close()
                return .closeIdleTunnel
            }
            return .rearm
        }
        if let exchange {
            if exchange.overallActive && exchange.deadline <= now { return .tryTimedOut(final: true) }
            if let deadline = exchange.tryDeadline, deadline <= now { return .tryTimedOut(final: false) }
            return .rearm
        }
        guard let deadline = waitDeadline, deadline <= now else { return .rearm }
        waitDeadline = nil
        if sawBytes {
            headRefused()
            return .headTimedOut
        }
        _ = close()
        return .closeIdle
    }
}
