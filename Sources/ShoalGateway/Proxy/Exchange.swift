import NIOCore
import ShoalBalancing
import Tracing

/// What the handler holds for the request in progress, beside its ``ExchangeState``: the
/// request itself, and the things it does I/O with — the instance's pick and connection, and
/// the span.
///
/// A class, not a struct: the handler reads it in most of its callbacks, and copying a value
/// with this many references retained and released each of them every time, which cost more
/// than allocating it once a request.
final class Exchange {
    let request: RequestHead
    let requestID: RequestID
    /// The route, or `nil` when the gateway answers the request itself.
    let route: RouteEntry?
    /// What goes upstream: the head rewritten for the route (empty when there is no route).
    let upstreamHead: ByteBuffer
    /// The current try's pick and connection.
    var pick: Pick?
    var connection: UpstreamConnection?
    /// The request's span, while it is open; `nil` without a tracer.
    var span: (any Span)?
    /// Whether the access log has this exchange's line.
    var logged = false
    /// How long the instance that answered took to send its response's head, from the start
    /// of its try: the latency the balancer learns, and the access log's `upstream_ms`.
    var upstreamHeadNanoseconds: Int64?
    /// Whether the request is a gRPC call: the gateway's own errors then take gRPC's shape.
    let isGRPC: Bool
    /// The call's `grpc-status`, once the answer gave one (or the gateway did).
    var grpcStatus: Int?

    init(
        request: RequestHead, requestID: RequestID, route: RouteEntry?, upstreamHead: ByteBuffer = ByteBuffer(),
        isGRPC: Bool = false
    ) {
        self.request = request
        self.requestID = requestID
        self.route = route
        self.upstreamHead = upstreamHead
        self.isGRPC = isGRPC
    }

    /// Ends the current try's pick with `outcome`, if there is one.
    func finishPick(_ outcome: PickOutcome) {
        pick?.finish(outcome)
        pick = nil
    }

    /// Closes the current try's connection, if there is one: it is not reused.
    func closeConnection() {
        guard let connection else { return }
        connection.delegate = nil
        connection.close()
        self.connection = nil
    }
}

extension NIODeadline {
    /// The time from this deadline until `now`.
    func duration(until now: NIODeadline) -> Duration {
        .nanoseconds((now - self).nanoseconds)
    }
}
