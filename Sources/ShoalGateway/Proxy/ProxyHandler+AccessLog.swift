import NIOCore

/// Access-log lines: one for each exchange when its response ends, or when it ends without
/// one; and one for bytes that were not a request.
extension ProxyHandler {
    /// Logs the end of the exchange in progress, once, as `state` says it went; with `nil`,
    /// of bytes that were not a request.
    ///
    /// - Parameters:
    ///   - status: The status sent to the client; 0 for none.
    ///   - upstream: The instance that answered; by default the one tried last.
    ///   - responseBytes: The body bytes sent; by default those counted on the exchange.
    ///   - error: Why the gateway answered with an error, or cut or lost the exchange.
    func logAccess(
        _ state: ExchangeState?, status: Int, upstream: String? = nil, responseBytes: Int? = nil, error: String? = nil
    ) {
        guard let log = loop.accessLog else { return }
        let exchange = state == nil ? nil : self.exchange
        if exchange?.logged == true { return }
        if exchange != nil { self.exchange?.logged = true }
        let started = state?.started ?? machine.waitStarted
        let elapsed = (now - started).nanoseconds
        log.append(
            AccessLogEntry(
                time: log.wallClock.millisecondsSinceEpoch() - elapsed / 1_000_000,
                requestID: exchange?.requestID.description, client: clientIP, request: exchange?.request,
                status: status,
                route: exchange?.route.map { shared.routeLabels[$0.index] },
                upstream: upstream ?? state?.lastAddress, tries: state?.tries ?? 0,
                requestBytes: state?.bodyBytes ?? 0, responseBytes: responseBytes ?? state?.responseBytes ?? 0,
                durationNanoseconds: elapsed, upstreamNanoseconds: exchange?.upstreamHeadNanoseconds, error: error,
                http2: servesStream, grpcStatus: exchange?.grpcStatus))
    }
}
