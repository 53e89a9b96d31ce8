import NIOCore
import ShoalBalancing

/// Where one request stands, from its head to the end of its response: the part of
/// ``ProxyStateMachine`` that lives as long as the request. A value with no I/O; the
/// machine changes it as events come.
struct ExchangeState {
    /// What of the client's request decides the exchange.
    struct Request: Equatable {
        /// Whether the request has a body (a length above zero, or chunked).
        var hasBody: Bool
        /// The body's declared length, when it has one.
        var contentLength: Int?
        /// Whether the client keeps the connection open after this exchange.
        var keepAlive: Bool
        /// Whether the client waits for `100 Continue` before sending its body.
        var expectsContinue: Bool
        /// Whether a failed try may be repeated: ``RetryRule/isRepeatable(method:hasBody:)``.
        var repeatable: Bool
        /// The client's HTTP/1 minor version.
        var minorVersion: Int
        /// Whether the body sent to an instance is kept (up to ``ExchangeState/maxKeptBodyBytes``),
        /// so that the request can go to another instance after a try that cannot have run it:
        /// a gRPC call, which is a `POST` and never ``repeatable``.
        var keepsBodyForRetry: Bool

        init(
            hasBody: Bool = false, contentLength: Int? = nil, keepAlive: Bool = true, expectsContinue: Bool = false,
            repeatable: Bool = true, minorVersion: Int = 1, keepsBodyForRetry: Bool = false
        ) {
            self.hasBody = hasBody
            self.contentLength = contentLength
            self.keepAlive = keepAlive
            self.expectsContinue = expectsContinue
            self.repeatable = repeatable
            self.minorVersion = minorVersion
            self.keepsBodyForRetry = keepsBodyForRetry
        }
    }

    /// What of a route decides an exchange on it.
    struct Route: Equatable {
        var timeout: TimeAmount
        var perTryTimeout: TimeAmount
        var retries: Int
        var maxBodyBytes: Int
    }

    /// Where the current try is.
    enum Try: Equatable {
        /// No try is on: none began yet, or the last one ended.
        case none
        /// An instance was picked; the connection to it is not ready yet.
        case connecting(id: Int, address: String)
        /// The request is going to the instance on a connection.
        case connected(id: Int, address: String)

        var id: Int? {
            switch self {
            case .none: nil
            case .connecting(let id, _), .connected(let id, _): id
            }
        }

        var address: String? {
            switch self {
            case .none: nil
            case .connecting(_, let address), .connected(_, let address): address
            }
        }
    }

    let request: Request
    /// The route's limits; `nil` when the gateway answers the request itself.
    let route: Route?
    /// When the request's head arrived, and when its overall timeout ends.
    let started: NIODeadline
    let deadline: NIODeadline

    /// Tries so far, and the addresses of those that failed (a retry avoids them).
    private(set) var tries = 0
    private(set) var failedAddresses: [String] = []
    private(set) var currentTry = Try.none
    /// When the current try began, and when it times out (`nil` once its response began).
    private(set) var tryStarted: NIODeadline
    private(set) var tryDeadline: NIODeadline?
    /// Whether ``deadline`` still applies: until a response begins.
    private(set) var overallActive: Bool

    /// Body data read before a connection was ready, and its size.
    private(set) var pending: [ByteBuffer] = []
    private(set) var pendingBytes = 0
    /// Body data already sent to the instance of the current try, kept for a retry while the
    /// request ``Request/keepsBodyForRetry`` and the data stays under ``maxKeptBodyBytes``.
    private(set) var sent: [ByteBuffer] = []
    private(set) var sentBytes = 0
    /// Whether ``sent`` still holds all that was sent.
    private(set) var keepsSent: Bool
    /// The most body kept for a retry; past it, a try that fails is the last.
    static let maxKeptBodyBytes = 64 * 1024
    /// Body bytes read so far, and response body bytes passed to the client.
    private(set) var bodyBytes = 0
    var responseBytes = 0
    /// The trailer fields of a chunked request body, once it ended with any.
    var requestTrailers: HTTPFieldList?

    /// Whether the client's whole request was read, the response's head went to the client
    /// (no retry and no error answer after that), and the response ended.
    var requestEnded = false
    private(set) var responseStarted = false
    var responseEnded = false
    /// Whether the instance keeps its connection open after this response.
    private(set) var upstreamKeepAlive = true
    /// The status sent to the client, once one was.
    var status: Int?
    /// How the response's body goes to the client: `nil` for none.
    private(set) var clientFraming: HTTPBodyDecoder.Framing?

    init(request: Request, route: Route?, started: NIODeadline) {
        self.request = request
        self.route = route
        self.started = started
        deadline = started + (route?.timeout ?? .zero)
        tryStarted = started
        overallActive = route != nil
        keepsSent = request.keepsBodyForRetry
    }

    /// The earliest time at which a timeout of this exchange fires.
    var nextDeadline: NIODeadline? {
        guard overallActive else { return tryDeadline }
        return min(tryDeadline ?? deadline, deadline)
    }

    /// The instance the exchange is with, or else the last one that failed: for the log.
    var lastAddress: String? { currentTry.address ?? failedAddresses.last }

    /// Ends both timeouts: a response began, or the exchange ended.
    mutating func stopClocks() {
        tryDeadline = nil
        overallActive = false
    }

    /// A try begins with the instance at `address`: it gets `id`.
    mutating func beginTry(id: Int, address: String, now: NIODeadline) {
        tries += 1
        currentTry = .connecting(id: id, address: address)
        tryStarted = now
        if let route { tryDeadline = min(now + route.perTryTimeout, deadline) }
    }

    /// The current try's connection is ready; `false` when `id` is not the current try.
    mutating func connect(id: Int) -> Bool {
        guard case .connecting(id, let address) = currentTry else { return false }
        currentTry = .connected(id: id, address: address)
        return true
    }

    /// The current try ends without a verdict; its instance is not avoided by a retry.
    mutating func abandonTry() {
        tryDeadline = nil
        currentTry = .none
    }

    /// The current try failed: a retry avoids its instance.
    mutating func failTry() {
        tryDeadline = nil
        if let address = currentTry.address { failedAddresses.append(address) }
        currentTry = .none
    }

    /// The current try's response ended.
    mutating func endTry() {
        stopClocks()
        currentTry = .none
    }

    /// The instance's response began: no more timeouts or retries.
    mutating func beginResponse(status: Int, upstreamKeepAlive: Bool, clientFraming: HTTPBodyDecoder.Framing?) {
        stopClocks()
        responseStarted = true
        self.status = status
        self.upstreamKeepAlive = upstreamKeepAlive
        self.clientFraming = clientFraming
    }

    /// Counts `count` body bytes read; `false` once they pass the route's limit.
    mutating func countBody(_ count: Int) -> Bool {
        bodyBytes += count
        return bodyBytes <= (route?.maxBodyBytes ?? .max)
    }

    /// Holds body data until a connection is ready; returns the bytes now held.
    mutating func hold(_ data: ByteBuffer) -> Int {
        pending.append(data)
        pendingBytes += data.readableBytes
        return pendingBytes
    }

    /// The held body data, which the caller sends: none is held after.
    mutating func takePending() -> [ByteBuffer] {
        defer {
            pending = []
            pendingBytes = 0
        }
        for data in pending { noteSent(data) }
        return pending
    }

    /// Keeps `data`, just sent to the instance, for a retry, while the request allows it.
    mutating func noteSent(_ data: ByteBuffer) {
        guard keepsSent else { return }
        sentBytes += data.readableBytes
        guard sentBytes <= Self.maxKeptBodyBytes else {
            keepsSent = false
            sent = []
            return
        }
        sent.append(data)
    }

    /// Puts the body sent so far back before the held data, for the next try; `false` when
    /// it was not all kept, and the request cannot be sent again.
    mutating func rewindBody() -> Bool {
        guard keepsSent else { return false }
        pending = sent + pending
        pendingBytes += sentBytes
        sent = []
        sentBytes = 0
        return true
    }
}
