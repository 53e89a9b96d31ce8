import NIOCore
import ShoalBalancing
import Tracing

/// One request on a client connection, from its head to the end of its response.
final class Exchange {
    let request: RequestHead
    let requestID: String
    /// The route, or `nil` when the gateway answers itself (no route, a refused request),
    /// reading and dropping any body.
    let route: RouteEntry?
    /// What goes upstream: the head rewritten for the route (empty when there is no route).
    let upstreamHead: ByteBuffer
    /// Whether a failed try may be repeated on another instance: an idempotent method and no
    /// body, so nothing sent is lost with the failed connection.
    let retryable: Bool
    /// When the overall timeout ends.
    let deadline: NIODeadline
    /// When the request's head arrived.
    let started: NIODeadline
    /// Whether the request has a body (a length above zero, or chunked).
    var hasBody: Bool { request.hasBody }

    /// Tries so far, and the instances of those that failed (a retry avoids them).
    var tries = 0
    var failedAddresses: [String] = []
    /// The current try's pick, connection and start.
    var pick: Pick?
    var connection: UpstreamConnection?
    var tryStarted: NIODeadline
    /// When the current try times out; `nil` once its response began.
    var tryDeadline: NIODeadline?
    /// Whether ``deadline`` still applies: until a response begins.
    var overallActive = true

    /// Body data read before the connection was ready, and its size.
    var pending: [ByteBuffer] = []
    var pendingBytes = 0
    /// Body bytes read so far.
    var bodyBytes = 0
    /// The trailer fields of a chunked request body, once it ended with any.
    var requestTrailers: HTTPFieldList?
    /// Response body bytes written to the client so far.
    var responseBytes = 0
    /// Whether the access log has this exchange's line.
    var logged = false
    /// How long the instance that answered took to send its response's head, from the start
    /// of its try; kept only for the access log.
    var upstreamHeadNanoseconds: Int64?
    /// The client's request has ended (its whole body read).
    var requestEnded = false
    /// The response's head went to the client; the request can no longer be retried or
    /// answered with an error.
    var responseStarted = false
    /// The response has ended.
    var responseEnded = false
    /// Whether the instance keeps the connection open after this response.
    var upstreamKeepAlive = true
    /// The status the instance answered.
    var status: Int?
    /// How the response's body goes to the client: `nil` for none.
    var clientFraming: HTTPBodyDecoder.Framing?
    /// The request's span, while it is open; `nil` without a tracer.
    var span: (any Span)?

    init(
        request: RequestHead, requestID: String, route: RouteEntry?,
        upstreamHead: ByteBuffer, retryable: Bool, started: NIODeadline, deadline: NIODeadline
    ) {
        self.request = request
        self.requestID = requestID
        self.route = route
        self.upstreamHead = upstreamHead
        self.retryable = retryable
        self.started = started
        tryStarted = started
        self.deadline = deadline
    }

    /// Ends both timeouts (a response began, or the exchange ended).
    func stopClocks() {
        tryDeadline = nil
        overallActive = false
    }

    /// The instance's response began: no more timeouts or retries. With `timed`, how long the
    /// instance took to its response head is kept (for the access log).
    func beginResponse(
        status: Int, upstreamKeepAlive: Bool, clientFraming: HTTPBodyDecoder.Framing?, timed: Bool
    ) {
        stopClocks()
        responseStarted = true
        if timed { upstreamHeadNanoseconds = (NIODeadline.now() - tryStarted).nanoseconds }
        self.status = status
        self.upstreamKeepAlive = upstreamKeepAlive
        self.clientFraming = clientFraming
    }
}

extension NIODeadline {
    /// The time from this deadline until now.
    var elapsed: Duration {
        .nanoseconds((NIODeadline.now() - self).nanoseconds)
    }
}
