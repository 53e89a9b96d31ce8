import NIOCore
import NIOHTTP2
import NIOPosix
import ShoalCore

/// One event loop's h2c connections to instances: each exchange on an h2c route gets a
/// stream on one of them. Not `Sendable`: only its event loop touches it.
///
/// A connection takes streams up to the instance's `MAX_CONCURRENT_STREAMS`; past that,
/// and after a `GOAWAY`, the next exchange opens another. A connection with no stream for
/// the upstream idle timeout closes.
final class UpstreamHTTP2Pool {
    let eventLoop: any EventLoop
    let settings: GatewayConfiguration.Upstream
    private var connections: [String: [UpstreamHTTP2Connection]] = [:]
    /// The last `MAX_CONCURRENT_STREAMS` each instance said: a new connection to it expects
    /// as much until the instance says again.
    private var knownMaxStreams: [String: Int] = [:]

    init(eventLoop: any EventLoop, settings: GatewayConfiguration.Upstream) {
        self.eventLoop = eventLoop
        self.settings = settings
    }

    /// Connections open or being made, over all instances.
    var openCount: Int { connections.values.reduce(0) { $0 + $1.count } }

    /// A new stream to the instance at `endpoint`; `completion` runs on the event loop.
    /// `acceptsTrailers` says whether the request goes with `TE: trailers`.
    func stream(
        to endpoint: Endpoint, acceptsTrailers: Bool,
        _ completion: @escaping (Result<UpstreamConnection, any Error>) -> Void
    ) {
        let address = endpoint.address
        if let connection = connections[address]?.first(where: \.hasRoom) {
            connection.openStream(acceptsTrailers: acceptsTrailers, completion)
            return
        }
        let connection = UpstreamHTTP2Connection(address: address, maxStreams: knownMaxStreams[address] ?? 100)
        connections[address, default: []].append(connection)
        connection.onClose = { connection in
            self.connections[address]?.removeAll { $0 === connection }
            if self.connections[address]?.isEmpty == true { self.connections[address] = nil }
        }
        connection.onOverflow = { acceptsTrailers, completion in
            self.knownMaxStreams[address] = connection.maxStreams
            self.stream(to: endpoint, acceptsTrailers: acceptsTrailers, completion)
        }
        connection.openStream(acceptsTrailers: acceptsTrailers, completion)
        connect(endpoint, connection)
    }

    /// Closes connections with no stream for longer than the idle timeout.
    func closeExpired() {
        let now = NIODeadline.now()
        for connection in connections.values.joined()
        where connection.openStreams == 0 && now - connection.idleSince >= settings.idleTimeout.timeAmount {
            connection.close()
        }
    }

    /// Closes every connection (at shutdown).
    func closeAll() {
        for connection in connections.values.joined() { connection.close() }
    }

    private func connect(_ endpoint: Endpoint, _ connection: UpstreamHTTP2Connection) {
        // The channel is made on this pool's event loop, the connection's own.
        let bound = NIOLoopBound(connection, eventLoop: eventLoop)
        let connecting = ClientBootstrap.upstream(on: eventLoop, settings: settings)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try Self.configure(channel, for: bound.value)
                }
            }
            .connect(to: endpoint)
        connecting.hop(to: eventLoop).assumeIsolated().whenComplete { result in
            switch result {
            case .failure(let error):
                connection.closed(with: error)
            case .success(let channel):
                connection.connected(on: channel.eventLoop, settingsTimeout: self.settings.connectTimeout.timeAmount)
            }
        }
    }

    /// An h2c client pipeline with no multiplexer (the connection serves its streams from
    /// the frames): no server push, and room for a call's messages in each stream's window.
    /// Flushes wait for the end of the loop's pass, so the requests that many exchanges write
    /// in one pass go out in one write.
    ///
    /// The codec does not check header blocks: the requests are the gateway's own, made from
    /// heads it parsed, and the instance's answers are checked as they become HTTP/1.1 heads
    /// (``ResponseHead/init(http2:endStream:)`` refuses what HTTP/1.1 cannot carry).
    private static func configure(_ channel: any Channel, for connection: UpstreamHTTP2Connection) throws {
        let codec = NIOHTTP2Handler(
            mode: .client,
            initialSettings: [
                HTTP2Setting(parameter: .enablePush, value: 0),
                HTTP2Setting(parameter: .initialWindowSize, value: UpstreamHTTP2Connection.streamWindow),
                HTTP2Setting(parameter: .maxHeaderListSize, value: UpstreamConnection.maxHeadBytes),
            ],
            headerBlockValidation: .disabled)
        try channel.pipeline.syncOperations.addHandler(FlushCoalescer())
        try channel.pipeline.syncOperations.addHandler(codec)
        try channel.pipeline.syncOperations.addHandler(UpstreamHTTP2ConnectionHandler(connection: connection))
    }
}
