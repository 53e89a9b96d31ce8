import NIOSSL
import ShoalBalancing

/// Everything a ``Gateway`` needs besides its registry.
public struct GatewayConfiguration: Sendable {
    /// The host to listen on.
    public var host: String
    /// The port to listen on; 0 picks a free one (``Gateway/boundPort`` tells which).
    public var port: Int
    /// Event-loop threads; each accepts and proxies connections with pools of its own.
    public var threads: Int
    /// The routes.
    public var routes: RouteTable
    /// How each route's balancer ejects and readmits instances.
    public var balancer: BalancerConfiguration
    /// The limits on clients.
    public var limits: Limits
    /// How upstream connections are made and kept.
    public var upstream: Upstream
    /// Where a line for each request goes; `nil` (the default) for no access log.
    public var accessLog: AccessLog?
    /// With a TLS server configuration (such as
    /// `TLSConfiguration.makeServerConfiguration(certificateChain:privateKey:)`), the listener
    /// takes HTTPS and terminates TLS; instances are still reached over plain HTTP/1.1, with
    /// `X-Forwarded-Proto: https`. `nil` (the default): plain HTTP.
    public var tls: TLSConfiguration?
    /// With TLS that asks clients for certificates (`certificateVerification` and
    /// `trustRoots` on ``tls``), what to tell instances about the client's verified
    /// certificate: the value of the `X-Forwarded-Client-Cert` field each request gets.
    /// Bytes that may not be in a field value are left out of what it returns. A request
    /// from a client without a certificate gets no such field; `nil` (the default): none
    /// does.
    ///
    /// Over TLS the gateway is where the client's connection ends, so an
    /// `X-Forwarded-Client-Cert` the client sent is always dropped: a client must not vouch
    /// for itself. Over plain HTTP (behind another proxy that sets it) it passes as it came.
    public var describeClientCertificate: (@Sendable (NIOSSLCertificate) -> String)?

    /// Limits that protect the gateway from its clients.
    public struct Limits: Sendable, Hashable {
        /// The most bytes of request line and headers; more gets 431. Default 32 KiB.
        public var maxHeaderBytes: Int
        /// How long a client may take to send a request's head; then 408 and the connection
        /// closes (slowloris). Default 10 s.
        public var headerTimeout: Duration
        /// How long a keep-alive connection may sit idle between requests. Default 60 s.
        public var idleTimeout: Duration
        /// The most client connections open at once; more are closed as they arrive.
        /// Default 10,000.
        public var maxConnections: Int
        /// How long a graceful shutdown waits for requests in flight. Default 30 s.
        public var drainTimeout: Duration
        /// How long a keep-alive connection that is between requests when a graceful shutdown
        /// begins stays open: a request that comes in that time is answered, with
        /// `Connection: close`, rather than meeting a connection that closes under it. A
        /// client sending request after request on it (load, a pool) is answered and moves
        /// on; one idle past this is closed. Zero closes idle connections at once. Default 1 s.
        public var drainIdleGrace: Duration
        /// How long a tunnel (a WebSocket, after `101 Switching Protocols`) may carry no byte
        /// either way before the gateway closes both its connections. Default 5 minutes.
        public var tunnelIdleTimeout: Duration
        /// The most streams (requests) an HTTP/2 client may have open at once on one
        /// connection (`SETTINGS_MAX_CONCURRENT_STREAMS`); more are refused. Default 100.
        public var maxConcurrentStreams: Int
        /// How long a response may wait on a client that takes none of it (a full socket, or an
        /// HTTP/2 window it never opens) before the gateway gives up on the exchange and closes
        /// the connection or resets the stream, as nginx's `send_timeout`. Default 60 s.
        public var sendTimeout: Duration

        public init(
            maxHeaderBytes: Int = 32 * 1024, headerTimeout: Duration = .seconds(10),
            idleTimeout: Duration = .seconds(60),
            maxConnections: Int = 10_000, drainTimeout: Duration = .seconds(30),
            tunnelIdleTimeout: Duration = .seconds(300), maxConcurrentStreams: Int = 100,
            sendTimeout: Duration = .seconds(60), drainIdleGrace: Duration = .seconds(1)
        ) {
            self.drainIdleGrace = drainIdleGrace
            self.maxConcurrentStreams = maxConcurrentStreams
            self.sendTimeout = sendTimeout
            self.maxHeaderBytes = maxHeaderBytes
            self.headerTimeout = headerTimeout
            self.idleTimeout = idleTimeout
            self.maxConnections = maxConnections
            self.drainTimeout = drainTimeout
            self.tunnelIdleTimeout = tunnelIdleTimeout
        }
    }

    /// Upstream connection settings.
    public struct Upstream: Sendable, Hashable {
        /// How long a connection attempt may take. Default 2 s.
        public var connectTimeout: Duration
        /// Idle keep-alive connections kept per instance and event loop. Default 64.
        public var maxIdlePerInstance: Int
        /// How long an idle upstream connection is kept. Default 30 s, below the usual
        /// server keep-alive timeouts, so the gateway closes first.
        public var idleTimeout: Duration

        public init(
            connectTimeout: Duration = .seconds(2), maxIdlePerInstance: Int = 64, idleTimeout: Duration = .seconds(30)
        ) {
            self.connectTimeout = connectTimeout
            self.maxIdlePerInstance = maxIdlePerInstance
            self.idleTimeout = idleTimeout
        }
    }

    public init(
        host: String = "127.0.0.1", port: Int = 8080, threads: Int = 1, routes: RouteTable,
        balancer: BalancerConfiguration = .init(), limits: Limits = .init(), upstream: Upstream = .init(),
        accessLog: AccessLog? = nil, tls: TLSConfiguration? = nil
    ) throws(GatewayConfigurationError) {
        guard (0...65535).contains(port) else {
            throw GatewayConfigurationError("port must be in 0...65535, not \(port)")
        }
        guard (1...256).contains(threads) else {
            throw GatewayConfigurationError("threads must be in 1...256, not \(threads)")
        }
        guard limits.maxHeaderBytes >= 1024 else {
            throw GatewayConfigurationError("the header limit must be at least 1024 bytes")
        }
        guard limits.maxConnections >= 1 else { throw GatewayConfigurationError("maxConnections must be at least 1") }
        if let accessLog {
            guard accessLog.flushInterval > .zero else {
                throw GatewayConfigurationError("the access log's flush interval must be above zero")
            }
            if case .file(let path) = accessLog.destination, path.isEmpty {
                throw GatewayConfigurationError("the access log's path must not be empty")
            }
        }
        self.host = host
        self.port = port
        self.threads = threads
        self.routes = routes
        self.balancer = balancer
        self.limits = limits
        self.upstream = upstream
        self.accessLog = accessLog
        self.tls = tls
    }
}
