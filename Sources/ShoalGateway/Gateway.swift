import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle
import ShoalBalancing
import ShoalCore
import ShoalDiscovery
import Synchronization
import Tracing

/// The reverse proxy: routes HTTP/1.1 requests by host and path prefix to instances of the
/// routes' services, which it follows in a registry.
///
/// Run it as a swift-service-lifecycle `Service`. Graceful shutdown stops accepting, lets the
/// requests in flight finish (up to ``GatewayConfiguration/Limits/drainTimeout``), then
/// closes what is left.
///
/// ```swift
/// let routes = try RouteTable([GatewayRoute(prefix: "/api/orders", service: "orders", stripPrefix: true)])
/// let gateway = Gateway(configuration: try GatewayConfiguration(port: 8080, routes: routes), discovery: registry)
/// let group = ServiceGroup(services: [registry, gateway], gracefulShutdownSignals: [.sigterm], logger: logger)
/// try await group.run()
/// ```
public final class Gateway: Service, Sendable {
    /// The settings.
    public let configuration: GatewayConfiguration
    /// What the gateway has done so far.
    public var counters: GatewayCounters { shared.counters }
    private let discovery: any ServiceDiscovery
    let shared: GatewayShared
    private let clock: any MonotonicClock
    private let wallClock: any WallClock
    /// The port once bound, or why the gateway could not start; callers of ``boundPort()``
    /// wait for one of them.
    private let bound = Mutex<(port: Int?, failure: (any Error)?, waiters: [CheckedContinuation<Int, any Error>])>(
        (nil, nil, []))
    /// The access log's file while ``run()`` runs.
    private let accessLogWriter = Mutex<AccessLogWriter?>(nil)
    /// The TLS context new connections get: ``reloadTLS(_:)`` replaces it.
    private let tlsContext = Mutex<NIOSSLContext?>(nil)

    /// A gateway over `discovery`; nothing listens until ``run()``.
    ///
    /// - Parameters:
    ///   - clock: what the balancers' ejections, circuit breakers, slow start and retry budgets,
    ///     and the metrics sampler, read time from. Request latencies are measured on the
    ///     connection's event loop and handed to the balancers as durations.
    ///   - wallClock: what the access log's `time` comes from.
    ///   - tracer: where each routed request's server span goes. `nil` means the tracer
    ///     bootstrapped in swift-distributed-tracing's `InstrumentationSystem` when this runs;
    ///     with none bootstrapped, the gateway makes no spans, and trace headers such as
    ///     `traceparent` reach the instance as the client sent them.
    public init(
        configuration: GatewayConfiguration, discovery: any ServiceDiscovery, clock: any MonotonicClock = SystemClock(),
        wallClock: any WallClock = SystemWallClock(), tracer: (any Tracer)? = nil
    ) {
        self.configuration = configuration
        self.discovery = discovery
        self.clock = clock
        self.wallClock = wallClock
        let upstreams = configuration.routes.routes.map {
            ServiceBalancer(
                service: $0.service, strategy: $0.strategy, configuration: configuration.balancer, clock: clock)
        }
        shared = GatewayShared(
            configuration: configuration, upstreams: upstreams, tracer: tracer ?? InstrumentationSystem.tracer)
    }

    /// Client connections open now.
    public var openConnections: Int { shared.connections.load(ordering: .relaxed) }

    /// The port the gateway listens on, once it does (waits until then). Throws why it could
    /// not start, if it could not, whenever it is asked.
    public func boundPort() async throws -> Int {
        try await withCheckedThrowingContinuation { continuation in
            let known = bound.withLock { state -> Result<Int, any Error>? in
                if let port = state.port { return .success(port) }
                if let failure = state.failure { return .failure(failure) }
                state.waiters.append(continuation)
                return nil
            }
            if let known { continuation.resume(with: known) }
        }
    }

    /// Listens, follows the routes' services, and proxies until graceful shutdown or
    /// cancellation; then drains.
    ///
    /// - Throws: ``GatewayAccessLogError`` when the access log cannot be opened,
    ///   ``GatewayTLSError`` when the TLS configuration cannot be used, and
    ///   ``GatewayListenError`` when the address cannot be listened on.
    public func run() async throws {
        let tlsContext: NIOSSLContext?
        do throws(GatewayTLSError) {
            tlsContext = try configuration.tls.map { configuration throws(GatewayTLSError) in
                try Self.context(configuration)
            }
        } catch {
            fail(error)
            throw error
        }
        // Last of what can fail before listening: the writer's thread starts here.
        let accessLogWriter: AccessLogWriter?
        do {
            accessLogWriter = try configuration.accessLog.map {
                AccessLogWriter(file: try AccessLogFile($0.destination), maxPendingBytes: $0.maxPendingBytes)
            }
        } catch {
            fail(error)
            throw error
        }
        self.tlsContext.withLock { $0 = tlsContext }
        self.accessLogWriter.withLock { $0 = accessLogWriter }
        defer { self.accessLogWriter.withLock { $0 = nil } }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: configuration.threads)
        /// Undoes the start when the gateway cannot listen: says why to ``boundPort()``'s
        /// callers, stops the access log's thread (nothing was logged) and the event loops.
        func giveUp(_ reason: String) async -> GatewayListenError {
            let failure = GatewayListenError(address: "\(configuration.host):\(configuration.port)", reason: reason)
            fail(failure)
            await accessLogWriter?.finish(within: .zero)
            try? await group.shutdownGracefully()
            return failure
        }
        var loops: [ObjectIdentifier: NIOLoopBound<GatewayLoop>] = [:]
        for (n, eventLoop) in group.makeIterator().enumerated() {
            let made = try? await eventLoop.submit { [shared, wallClock] in
                NIOLoopBound(
                    GatewayLoop(
                        eventLoop: eventLoop, shared: shared, seed: UInt64.random(in: .min ... .max) &+ UInt64(n),
                        accessLog: accessLogWriter.map { AccessLogBuffer(writer: $0, wallClock: wallClock) }),
                    eventLoop: eventLoop)
            }.get()
            guard let loop = made else { throw await giveUp("its event loop stopped") }
            loops[ObjectIdentifier(eventLoop)] = loop
        }
        let server: any Channel
        do {
            server = try await bootstrap(group: group, loops: loops).bind(
                host: configuration.host, port: configuration.port
            ).get()
        } catch {
            throw await giveUp("\(error)")
        }
        let port = server.localAddress?.port ?? configuration.port
        let waiters = bound.withLock { state in
            state.port = port
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: port) }

        let allLoops = Array(loops.values)
        await withTaskGroup(of: Void.self) { tasks in
            for upstreams in shared.upstreams {
                tasks.addTask { [discovery] in await upstreams.follow(discovery) }
            }
            tasks.addTask { await Self.expireIdleUpstreams(allLoops) }
            if let accessLog = configuration.accessLog {
                tasks.addTask { await Self.flushAccessLogs(allLoops, every: accessLog.flushInterval) }
            }
            tasks.addTask { [shared, clock] in
                await GatewayMetricsSampler(shared: shared, loops: allLoops, clock: clock).run()
            }
            // Until graceful shutdown, or cancellation (another service of the group failed):
            // waiting on a future does not end by itself when the task is cancelled.
            await withGracefulShutdownHandler {
                await withTaskCancellationHandler {
                    try? await server.closeFuture.get()
                } onCancel: {
                    server.close(promise: nil)
                }
            } onGracefulShutdown: {
                server.close(promise: nil)
            }
            // No new connections: drain those open, then stop following the registry.
            await drain(loops: allLoops)
            tasks.cancelAll()
        }
        for loop in allLoops {
            try? await loop.eventLoop.submit { loop.value.accessLog?.flush() }.get()
        }
        await accessLogWriter?.finish(within: configuration.limits.drainTimeout)
        try? await group.shutdownGracefully()
    }

    /// Opens the access log's file again at its path, and writes there from then on: send it
    /// after moving the file away (log rotation, as with nginx's `reopen`). Lines still in
    /// the event loops' buffers go to the new file. Does nothing without an access log to a
    /// file, or when the gateway is not running.
    ///
    /// - Throws: ``GatewayAccessLogError`` when the path cannot be opened; the log then goes on
    ///   to the file it was going to.
    public func reopenAccessLog() throws(GatewayAccessLogError) {
        try accessLogWriter.withLock { $0 }?.file.reopen()
    }

    /// Checks what ``run()`` would find wrong before it listens: that the TLS configuration
    /// makes a context (a key that is not the certificate's fails here) and that the access
    /// log's file opens for appending (it is created if missing). Nothing listens.
    ///
    /// - Throws: ``GatewayTLSError`` or ``GatewayAccessLogError``.
    public func check() throws {
        if let tls = configuration.tls { _ = try Self.context(tls) }
        if let accessLog = configuration.accessLog { _ = try AccessLogFile(accessLog.destination) }
    }

    /// Takes new connections with `configuration` from now on (a renewed certificate); those
    /// open keep theirs. Does nothing for a gateway that does not take HTTPS.
    ///
    /// - Throws: ``GatewayTLSError`` when the configuration cannot be used; the one in use stays.
    public func reloadTLS(_ configuration: TLSConfiguration) throws(GatewayTLSError) {
        guard self.configuration.tls != nil else { return }
        let fresh = try Self.context(configuration)
        tlsContext.withLock { $0 = fresh }
    }

    private static func context(_ configuration: TLSConfiguration) throws(GatewayTLSError) -> NIOSSLContext {
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw GatewayTLSError(reason: "\(error)")
        }
    }

    private func fail(_ error: any Error) {
        let waiters = bound.withLock { state in
            defer { state.waiters = [] }
            state.failure = error  // for callers that ask later
            return state.waiters
        }
        for waiter in waiters { waiter.resume(throwing: error) }
    }

    private func bootstrap(
        group: MultiThreadedEventLoopGroup, loops: [ObjectIdentifier: NIOLoopBound<GatewayLoop>]
    ) -> ServerBootstrap {
        let shared = shared
        let limits = configuration.limits
        return ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                let open = shared.connections.wrappingAdd(1, ordering: .relaxed).newValue
                channel.closeFuture.whenComplete { _ in shared.connectionClosed() }
                guard open <= limits.maxConnections, let loop = loops[ObjectIdentifier(channel.eventLoop)] else {
                    return channel.close()
                }
                // The proxy handler reads and writes HTTP/1 bytes itself: no codec handlers. The
                // sniffer in front of it hands the connection to HTTP/2 if it opens with its preface.
                return channel.eventLoop.makeCompletedFuture {
                    if shared.secure, let tls = self.tlsContext.withLock({ $0 }) {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                    }
                    try channel.pipeline.syncOperations.addHandlers(
                        HTTPVersionSniffer(loop: loop.value), ProxyHandler(loop: loop.value))
                }
            }
    }

    /// Stops keep-alive on every connection, closes the idle ones, and waits for the rest
    /// until the drain timeout; then closes them.
    private func drain(loops: [NIOLoopBound<GatewayLoop>]) async {
        shared.draining.store(true, ordering: .relaxed)
        for loop in loops {
            try? await loop.eventLoop.submit {
                for handler in loop.value.handlers.values { handler.drain() }
                for connection in loop.value.http2Connections.values {
                    connection.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
                }
            }.get()
        }
        // The last connection to close ends the wait; the drain timeout (real time, whatever
        // clock the balancers read) ends it otherwise.
        let timeout = configuration.limits.drainTimeout
        await withTaskGroup(of: Void.self) { [shared] group in
            group.addTask { await shared.waitUntilNoConnections() }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
        for loop in loops {
            try? await loop.eventLoop.submit {
                for handler in loop.value.handlers.values { handler.closeClient() }
                for connection in loop.value.http2Connections.values { connection.close(promise: nil) }
                loop.value.pool.closeAll()
                loop.value.http2Pool.closeAll()
            }.get()
        }
    }

    private static func flushAccessLogs(_ loops: [NIOLoopBound<GatewayLoop>], every interval: Duration) async {
        // The last flush, after the drain, is run()'s own.
        while (try? await Task.sleep(for: interval)) != nil {
            for loop in loops {
                loop.eventLoop.execute { loop.value.accessLog?.flush() }
            }
        }
    }

    private static func expireIdleUpstreams(_ loops: [NIOLoopBound<GatewayLoop>]) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(5))
            for loop in loops {
                loop.eventLoop.execute {
                    loop.value.pool.closeExpired()
                    loop.value.http2Pool.closeExpired()
                }
            }
        }
    }
}
