extension GatewayConfiguration {
    /// Where the gateway writes its access log: one JSON object a line for each request,
    /// written when its response ends (or when it ends without one).
    ///
    /// Lines are kept in a buffer on each event loop, handed to a writer thread when it holds
    /// 32 KiB, every ``flushInterval``, and when the gateway stops. Writes to a file append
    /// (`O_APPEND`); to rotate it, move it away and call ``Gateway/reopenAccessLog()``.
    ///
    /// A destination that blocks (a full pipe, a stalled disk) holds up only the writer, not
    /// the requests (nginx's workers write their logs themselves, and stall). Up to
    /// ``maxPendingBytes`` of lines wait for it; past that, lines are dropped and counted in
    /// `shoal_gateway_access_log_dropped_lines_total`. At a stop, the gateway waits for the
    /// writer up to its drain timeout.
    ///
    /// A line looks like this (wrapped here):
    ///
    /// ```json
    /// {"time":"2026-11-29T10:31:02.123Z","request_id":"5f0c9a…","client":"127.0.0.1",
    ///  "method":"GET","host":"shop.example","target":"/api/orders/7","protocol":"HTTP/1.1",
    ///  "status":200,"grpc_status":null,"route":"/api/orders","upstream":"10.0.0.7:8080","tries":1,
    ///  "request_bytes":0,"response_bytes":512,"duration_ms":1.834,"upstream_ms":1.250,
    ///  "user_agent":"curl/8.5.0","error":null}
    /// ```
    ///
    /// - `time` is when the request's head arrived, in UTC; `upstream_ms` is how long the
    ///   instance that answered took to send its response's head (`null` when none did);
    /// - `status` is 0 when no answer was sent (the client left first);
    /// - `grpc_status` is a gRPC call's status, from the instance's trailers or from the
    ///   gateway's own answer (whose HTTP status is then 200), and `null` for other requests;
    /// - `route` and `upstream` are `null` when the gateway answered itself; `upstream` is the
    ///   instance that answered, or the last one tried;
    /// - `request_bytes` and `response_bytes` count body bytes, as received and as sent;
    /// - `method`, `host`, `target`, `protocol` and `user_agent` are `null` for bytes that were
    ///   not a request (a 400, 408 or 431 before any head was read);
    /// - `error` says why the gateway answered with an error, or cut or lost the exchange.
    public struct AccessLog: Sendable, Hashable {
        /// Where lines go.
        public enum Destination: Sendable, Hashable {
            /// The process's standard output.
            case standardOutput
            /// A file, created if missing (mode 0644) and appended to.
            case file(String)
        }

        /// Where lines go.
        public var destination: Destination
        /// The longest a line waits in a buffer. Default 1 s.
        public var flushInterval: Duration
        /// The most bytes of lines that wait for a destination that does not take them;
        /// further lines are dropped. Default 16 MiB (about 50,000 lines).
        public var maxPendingBytes: Int

        public init(_ destination: Destination, flushInterval: Duration = .seconds(1), maxPendingBytes: Int = 16 << 20)
        {
            self.destination = destination
            self.flushInterval = flushInterval
            self.maxPendingBytes = maxPendingBytes
        }
    }
}
