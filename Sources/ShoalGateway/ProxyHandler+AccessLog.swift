import NIOCore

/// Access-log lines: one for each exchange when its response ends, or when it ends without
/// one; and one for bytes that were not a request.
extension ProxyHandler {
    /// Logs the end of `exchange`, once; with `nil`, of bytes that were not a request.
    ///
    /// - Parameters:
    ///   - status: The status sent to the client; 0 for none.
    ///   - upstream: The instance that answered; by default the one whose connection is in
    ///     use, or else the last that failed.
    ///   - responseBytes: The body bytes sent; by default those counted on the exchange.
    ///   - error: Why the gateway answered with an error, or cut or lost the exchange.
    func logAccess(
        _ exchange: Exchange?, status: Int, upstream: String? = nil, responseBytes: Int? = nil, error: String? = nil
    ) {
        guard let log = loop.accessLog else { return }
        let started: NIODeadline
        if let exchange {
            guard !exchange.logged else { return }
            exchange.logged = true
            started = exchange.started
        } else {
            started = waitStarted
        }
        let elapsed = (NIODeadline.now() - started).nanoseconds
        log.append(
            AccessLogEntry(
                time: log.wallClock.millisecondsSinceEpoch() - elapsed / 1_000_000,
                requestID: exchange?.requestID, client: clientIP, request: exchange?.request, status: status,
                route: exchange?.route.map { shared.routeLabels[$0.index] },
                upstream: upstream ?? exchange?.connection?.address ?? exchange?.failedAddresses.last,
                tries: exchange?.tries ?? 0, requestBytes: exchange?.bodyBytes ?? 0,
                responseBytes: responseBytes ?? exchange?.responseBytes ?? 0, durationNanoseconds: elapsed,
                upstreamNanoseconds: exchange?.upstreamHeadNanoseconds, error: error))
    }
}
