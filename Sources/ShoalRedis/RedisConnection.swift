import NIOCore
import NIOPosix
import NIOSSL
import ShoalCore
import ShoalRESP
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One connection to a Redis server, speaking RESP3.
///
/// ```swift
/// let redis = try await RedisConnection.connect(RedisConfiguration(port: 6379))
/// _ = try await redis.send(RESPCommand("SET", "greeting", "hello"))
/// let value = try await redis.send(RESPCommand("GET", "greeting"))   // .bulkString("hello")
/// let replies = try await redis.pipeline([RESPCommand("INCR", "a"), RESPCommand("INCR", "b")])
/// await redis.close()
/// ```
///
/// Commands may be sent from many tasks at once; replies are matched in order. Each command
/// has a deadline. A sent command cannot be withdrawn, so a missed deadline or a cancelled
/// caller closes the connection, failing the commands behind it with
/// ``RedisError/Code-swift.struct/connectionClosed``.
public final class RedisConnection: Sendable {
    public let configuration: RedisConfiguration
    private let channel: any Channel
    /// Set as soon as this side starts closing, before the channel (closed on its event
    /// loop) says so: a pool must not lend a connection that is going away.
    private let closing = Atomic<Bool>(false)

    /// Why the connection ended, as its handler saw it, for commands written after that.
    private let end: ConnectionEnd

    private init(channel: any Channel, configuration: RedisConfiguration, end: ConnectionEnd) {
        self.channel = channel
        self.end = end
        self.configuration = configuration
    }

    /// `host:port`.
    public var address: String { "\(configuration.host):\(configuration.port)" }

    /// Whether the connection is open.
    public var isConnected: Bool {
        // The handler records why the connection ended before it fails any command, so a
        // caller that saw a failure never sees the connection as usable.
        !closing.load(ordering: .acquiring) && end.recorded == nil && channel.isActive
    }

    /// Connects, then sends `HELLO 3` (with `AUTH` and `SETNAME` when configured) and
    /// `SELECT` for a database other than 0.
    ///
    /// - Throws: ``RedisError`` with ``RedisError/Code-swift.struct/connectionRefused`` when
    ///   nothing accepts the connection, or ``RedisError/Code-swift.struct/setupFailed`` when
    ///   the server refuses the set-up (wrong password, no such database).
    public static func connect(
        _ configuration: RedisConfiguration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws(RedisError) -> RedisConnection {
        try await connect(configuration, group: group, onPush: nil)
    }

    /// Connects, sending RESP3 push frames (pub/sub) to `onPush` on the connection's event
    /// loop; to the primary the sentinels name, when the configuration has them.
    static func connect(
        _ configuration: RedisConfiguration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        onPush: (@Sendable (RESPValue) -> Void)?
    ) async throws(RedisError) -> RedisConnection {
        guard let sentinel = configuration.sentinel else {
            return try await connectDirectly(configuration, group: group, onPush: onPush)
        }
        return try await connectToPrimary(configuration, sentinel: sentinel, group: group, onPush: onPush)
    }

    /// Connects to ``RedisConfiguration/host`` and ``RedisConfiguration/port``. When the
    /// configuration has sentinels, the set-up also checks with `ROLE` that the server is a
    /// primary.
    static func connectDirectly(
        _ configuration: RedisConfiguration, group: any EventLoopGroup, onPush: (@Sendable (RESPValue) -> Void)?
    ) async throws(RedisError) -> RedisConnection {
        let address = "\(configuration.host):\(configuration.port)"
        let timeout = TimeAmount.nanoseconds(configuration.connectTimeout.totalNanoseconds)
        let tls: (context: NIOSSLContext, serverHostname: String?)?
        do {
            tls = try configuration.tls.map { settings in
                let hostname =
                    settings.serverHostname ?? (Self.isIPAddress(configuration.host) ? nil : configuration.host)
                return (try NIOSSLContext(configuration: settings.configuration), hostname)
            }
        } catch {
            throw RedisError(.tlsFailed, "cannot set up TLS for \(address): \(error)")
        }
        let end = ConnectionEnd()
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(timeout)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(
                            NIOSSLClientHandler(context: tls.context, serverHostname: tls.serverHostname))
                    }
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(RESPFrameDecoder(decoder: RESPDecoder())))
                    try channel.pipeline.syncOperations.addHandler(
                        RedisChannelHandler(address: address, end: end, onPush: onPush))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: configuration.host, port: configuration.port).get()
        } catch {
            throw RedisError(.connectionRefused, "connection refused to \(address): \(Self.reason(error))")
        }
        let connection = RedisConnection(channel: channel, configuration: configuration, end: end)
        do {
            try await connection.setUp()
        } catch {
            await connection.close()
            throw error
        }
        return connection
    }

    /// Whether `host` is an IPv4 or IPv6 address rather than a name (no SNI for those).
    private static func isIPAddress(_ host: String) -> Bool {
        (try? SocketAddress(ipAddress: host, port: 0)) != nil
    }

    /// Why a connection attempt failed, in a few words ("Connection refused").
    private static func reason(_ error: any Error) -> String {
        var error = error
        if let failures = error as? NIOConnectionError, let first = failures.connectionErrors.first {
            error = first.error
        }
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)) }
        if let error = error as? ChannelError, case .connectTimeout(let amount) = error {
            return "no answer within \(Double(amount.nanoseconds) / 1e9) s"
        }
        return "\(error)"
    }

    private func setUp() async throws(RedisError) {
        var hello = ["HELLO", "3"]
        if let password = configuration.password {
            hello += ["AUTH", configuration.username ?? "default", password]
        }
        if let name = configuration.clientName {
            hello += ["SETNAME", name]
        }
        var commands = [RESPCommand(hello)]
        if configuration.database != 0 {
            commands.append(RESPCommand("SELECT", String(configuration.database)))
        }
        if configuration.sentinel != nil {
            commands.append(RESPCommand("ROLE"))
        }
        let replies = try await pipeline(commands, timeout: configuration.connectTimeout)
        for (command, reply) in zip(commands, replies) where reply.isError {
            let name = command.arguments.first.map { String(buffer: $0) } ?? "?"
            throw RedisError(
                .setupFailed, "\(address) refused \(name) while connecting: \(reply.string ?? "\(reply)")",
                serverMessage: reply.string)
        }
        if configuration.sentinel != nil, let role = replies.last, !Self.isPrimary(role) {
            throw RedisError(.notPrimary, "\(address), which the sentinels named, is not a primary: ROLE answered \(role)")
        }
    }

    /// Sends a command and returns its reply.
    ///
    /// - Parameter timeout: the deadline; ``RedisConfiguration/commandTimeout`` by default.
    /// - Throws: ``RedisError``: ``RedisError/Code-swift.struct/server`` for an error reply
    ///   (the connection stays usable), or a time-out, cancellation or closed connection.
    public func send(_ command: RESPCommand, timeout: Duration? = nil) async throws(RedisError) -> RESPValue {
        let reply = try await pipeline([command], timeout: timeout)[0]
        if reply.isError { throw RedisError.server(reply) }
        return reply
    }

    /// Sends several commands in one write and returns their replies in order. Error replies
    /// are returned as values, so each can be inspected.
    public func pipeline(_ commands: [RESPCommand], timeout: Duration? = nil) async throws(RedisError) -> [RESPValue] {
        let deadline = NIODeadline.now() + .nanoseconds((timeout ?? configuration.commandTimeout).totalNanoseconds)
        let channel = channel
        let address = address
        let end = end
        let replies = commands.map { command in
            var bytes = channel.allocator.buffer(capacity: 64)
            bytes.writeRESPCommand(command)
            let reply = channel.eventLoop.makePromise(of: RESPValue.self)
            let outbound = OutboundCommand(bytes: bytes, reply: reply, deadline: deadline)
            channel.write(outbound).whenFailure { _ in
                // Only when the handler never took the command: the connection is gone.
                reply.fail(end.recorded ?? RedisError(.connectionClosed, "the connection to \(address) is closed"))
            }
            return reply.futureResult
        }
        channel.flush()
        var values: [RESPValue] = []
        values.reserveCapacity(replies.count)
        for reply in replies {
            do {
                let value = try await withTaskCancellationHandler {
                    try await reply.get()
                } onCancel: {
                    self.closing.store(true, ordering: .releasing)
                    channel.close(promise: nil)
                }
                values.append(value)
            } catch let error as RedisError {
                if Task.isCancelled && error.code == .connectionClosed {
                    throw RedisError(.cancelled, "cancelled while waiting for \(address); the connection was closed")
                }
                throw error
            } catch {
                throw RedisError(.connectionClosed, "the connection to \(address) failed: \(error)")
            }
        }
        return values
    }

    /// Writes commands whose answers come as push frames (SUBSCRIBE, UNSUBSCRIBE), without
    /// waiting. Writes made one after another (say, under a lock) reach the server in order.
    func writeWithoutReply(_ commands: [RESPCommand]) {
        var bytes = channel.allocator.buffer(capacity: 64)
        for command in commands { bytes.writeRESPCommand(command) }
        channel.writeAndFlush(OutboundCommand(bytes: bytes, reply: nil, deadline: .distantFuture), promise: nil)
    }

    /// Runs `body` once, when the connection closes (at once if it is closed already).
    func onClose(_ body: @escaping @Sendable () -> Void) {
        channel.closeFuture.whenComplete { _ in body() }
    }

    /// Returns when the connection has closed; cancelling the caller closes it.
    func waitUntilClosed() async {
        let channel = channel
        await withTaskCancellationHandler {
            try? await channel.closeFuture.get()
        } onCancel: {
            channel.close(promise: nil)
        }
    }

    /// Starts closing the connection without waiting for it to close.
    func closeSoon() {
        closing.store(true, ordering: .releasing)
        channel.close(promise: nil)
    }

    /// Closes the connection; waiting commands fail with a closed connection.
    public func close() async {
        closing.store(true, ordering: .releasing)
        try? await channel.close()
    }
}
