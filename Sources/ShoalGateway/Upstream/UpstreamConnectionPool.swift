import NIOCore
import NIOPosix
import ShoalCore

/// One event loop's keep-alive connections to instances. Not `Sendable`: only its event
/// loop touches it, so a request never hops threads.
final class UpstreamConnectionPool {
    let eventLoop: any EventLoop
    let settings: GatewayConfiguration.Upstream
    /// Idle connections by instance address. The lists are objects so that taking and
    /// returning a connection changes a list in place, without writing to the dictionary
    /// (which copied the list's storage on every request).
    private var idle: [String: IdleList] = [:]
    /// Connections open, idle or in use.
    private(set) var openCount = 0

    init(eventLoop: any EventLoop, settings: GatewayConfiguration.Upstream) {
        self.eventLoop = eventLoop
        self.settings = settings
    }

    /// Idle connections, over all instances.
    var idleCount: Int { idle.values.reduce(0) { $0 + $1.connections.count } }

    /// An idle connection to the instance at `address` (`host:port`) that can carry a
    /// request, if there is one.
    func idleConnection(to address: String, now: NIODeadline) -> UpstreamConnection? {
        guard let list = idle[address] else { return nil }
        while let connection = list.connections.popLast() {
            if !connection.isClosed, connection.channel.isActive, !expired(connection, at: now) {
                return connection
            }
            connection.close()
        }
        return nil
    }

    /// Takes back a connection whose exchange ended cleanly, to keep it for the next request
    /// (or closes it when the pool is full); `now` is the time, when the caller has it.
    func release(_ connection: UpstreamConnection, now: NIODeadline = .now()) {
        connection.delegate = nil
        guard connection.pooled else {
            // A stream closes by itself once both sides ended it. One that did not (never used,
            // or answered before the request's end) is reset; resetting one that ended would
            // send the instance an RST_STREAM a call, which it may count as a rapid-reset attack.
            if !connection.exchangeEnded { connection.close() }
            return
        }
        guard !connection.isClosed, connection.channel.isActive,
            (idle[connection.address]?.connections.count ?? 0) < settings.maxIdlePerInstance
        else {
            connection.close()
            return
        }
        connection.idleSince = now
        if let list = idle[connection.address] {
            list.connections.append(connection)
        } else {
            idle[connection.address] = IdleList(connection)
        }
    }

    /// Closes connections idle longer than the idle timeout.
    func closeExpired() {
        let now = NIODeadline.now()
        for (address, list) in idle {
            let connections = list.connections
            let (old, fresh) = (
                connections.filter { expired($0, at: now) }, connections.filter { !expired($0, at: now) }
            )
            list.connections = fresh
            if fresh.isEmpty { idle[address] = nil }
            for connection in old { connection.close() }
        }
    }

    /// Closes every idle connection (at shutdown).
    func closeAll() {
        let all = idle.values.flatMap { $0.connections }
        idle = [:]
        for connection in all { connection.close() }
    }

    private func expired(_ connection: UpstreamConnection, at now: NIODeadline) -> Bool {
        now - connection.idleSince >= settings.idleTimeout.timeAmount
    }

    /// Opens a channel to an endpoint, with an ``UpstreamHandler`` as its last handler: over
    /// TCP when `nil` (always, in the gateway). A handler test sets it to hand out
    /// `EmbeddedChannel`s, which it then writes the instance's bytes into.
    var openChannel: ((Endpoint) -> EventLoopFuture<any Channel>)?

    /// A new connection to `endpoint`; `completion` runs on the event loop.
    func connect(_ endpoint: Endpoint, _ completion: @escaping (Result<UpstreamConnection, any Error>) -> Void) {
        let connecting = openChannel?(endpoint) ?? openTCPChannel(endpoint)
        let address = endpoint.address
        connecting.hop(to: eventLoop).assumeIsolated().whenComplete { result in
            switch result {
            case .failure(let error):
                completion(.failure(error))
            case .success(let channel):
                do {
                    let handler = try channel.pipeline.syncOperations.handler(type: UpstreamHandler.self)
                    guard let handlerContext = handler.context else { throw ChannelError.ioOnClosedChannel }
                    let connection = UpstreamConnection(channel: channel, address: address, context: handlerContext)
                    handler.connection = connection
                    self.openCount += 1
                    // The pool outlives its connections: each closes before the gateway stops.
                    connection.onClose = { connection in
                        self.openCount -= 1
                        self.idle[connection.address]?.connections.removeAll { $0 === connection }
                    }
                    completion(.success(connection))
                } catch {
                    channel.close(promise: nil)
                    completion(.failure(error))
                }
            }
        }
    }

    private func openTCPChannel(_ endpoint: Endpoint) -> EventLoopFuture<any Channel> {
        ClientBootstrap.upstream(on: eventLoop, settings: settings)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(UpstreamHandler())
                }
            }
            .connect(to: endpoint)
    }
}

/// The idle connections to one instance, the most recently used last.
private final class IdleList {
    var connections: [UpstreamConnection]

    init(_ connection: UpstreamConnection) {
        connections = [connection]
    }
}

extension Duration {
    /// The same span as a NIO `TimeAmount`.
    var timeAmount: TimeAmount { .nanoseconds(totalNanoseconds) }
}
