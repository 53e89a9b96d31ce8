import NIOCore
import NIOHTTP2

/// One h2c connection to an instance, carrying many exchanges at once, one stream each.
/// Owned by one event loop's ``UpstreamHTTP2Pool``.
///
/// It opens no more streams than the instance's `SETTINGS_MAX_CONCURRENT_STREAMS` allows
/// (the pool opens another connection instead), and after a `GOAWAY` it opens none: the
/// streams it carries finish, and it closes when the last one does.
final class UpstreamHTTP2Connection {
    /// `host:port` of the instance.
    let address: String
    /// The streams the instance allows at once: its setting, or until it sent one, what the
    /// pool last heard from the instance (100 at first: RFC 9113 §6.5.2 advises at least that).
    private(set) var maxStreams: Int
    /// Whether the instance's first `SETTINGS` came: streams open only after it, so that
    /// none goes past a limit the instance has not said yet.
    private(set) var isReady = false
    /// Streams open or being opened.
    private(set) var openStreams = 0
    /// The last stream the instance said it would handle, once it sent `GOAWAY`.
    private(set) var goAwayLastStreamID: HTTP2StreamID?
    /// When the last stream closed, for the pool's idle timeout.
    private(set) var idleSince: NIODeadline = .now()
    private(set) var isClosed = false
    /// Exchanges waiting for the connection to be made.
    private var waiting: [(acceptsTrailers: Bool, completion: (Result<UpstreamConnection, any Error>) -> Void)] = []
    private var channel: (any Channel)?
    private var multiplexer: NIOHTTP2Handler.StreamMultiplexer?
    /// Called once when the connection closes, so the pool can forget it.
    var onClose: ((UpstreamHTTP2Connection) -> Void)?
    /// Called with the exchanges that waited for the connection and found no room on it
    /// once the instance said its limit: the pool finds them another.
    var onOverflow: ((_ acceptsTrailers: Bool, _ completion: @escaping (Result<UpstreamConnection, any Error>) -> Void) -> Void)?

    init(address: String, maxStreams: Int) {
        self.address = address
        self.maxStreams = maxStreams
    }

    /// Whether another stream may open on it now or once it is made.
    var hasRoom: Bool { !isClosed && goAwayLastStreamID == nil && openStreams + waiting.count < maxStreams }

    /// The connection was made; streams wait for the instance's `SETTINGS`, for up to
    /// `settingsTimeout`.
    func connected(channel: any Channel, multiplexer: NIOHTTP2Handler.StreamMultiplexer, settingsTimeout: TimeAmount) {
        self.channel = channel
        self.multiplexer = multiplexer
        channel.eventLoop.assumeIsolated().scheduleTask(in: settingsTimeout) {
            if !self.isReady { self.close() }
        }
    }

    /// Opens a stream for one exchange, now or once the connection is ready.
    func openStream(acceptsTrailers: Bool, _ completion: @escaping (Result<UpstreamConnection, any Error>) -> Void) {
        guard isReady, let multiplexer, let channel else {
            waiting.append((acceptsTrailers, completion))
            return
        }
        openStreams += 1
        let promise = channel.eventLoop.makePromise(of: (any Channel).self)
        multiplexer.createStreamChannel(promise: promise) { stream in
            stream.eventLoop.makeCompletedFuture {
                try stream.pipeline.syncOperations.addHandler(UpstreamStreamHandler())
            }
        }
        promise.futureResult.assumeIsolated().whenComplete { result in
            switch result {
            case .failure(let error):
                self.streamClosed()
                completion(.failure(error))
            case .success(let stream):
                do {
                    let handler = try stream.pipeline.syncOperations.handler(type: UpstreamStreamHandler.self)
                    guard let context = handler.context else { throw ChannelError.ioOnClosedChannel }
                    let upstream = UpstreamStream(
                        channel: stream, address: self.address, context: context, connection: self,
                        acceptsTrailers: acceptsTrailers)
                    handler.stream = upstream
                    stream.closeFuture.assumeIsolated().whenComplete { _ in self.streamClosed() }
                    completion(.success(upstream))
                } catch {
                    stream.close(promise: nil)
                    completion(.failure(error))
                }
            }
        }
    }

    private func streamClosed() {
        openStreams -= 1
        if openStreams == 0 {
            idleSince = .now()
            if goAwayLastStreamID != nil { close() }
        }
    }

    /// The instance's `SETTINGS`. The first makes the connection ready: the exchanges waiting
    /// get streams up to the instance's limit, and the pool finds the others another.
    func settingsReceived(_ settings: HTTP2Settings) {
        for setting in settings where setting.parameter == .maxConcurrentStreams {
            maxStreams = setting.value
        }
        guard !isReady, !isClosed else { return }
        isReady = true
        let waiting = self.waiting
        self.waiting = []
        for (index, call) in waiting.enumerated() {
            if index < maxStreams && goAwayLastStreamID == nil {
                openStream(acceptsTrailers: call.acceptsTrailers, call.completion)
            } else if let onOverflow {
                onOverflow(call.acceptsTrailers, call.completion)
            } else {
                call.completion(.failure(ChannelError.ioOnClosedChannel))
            }
        }
    }

    /// The instance's `GOAWAY`: no new stream; streams after `lastStreamID` were never run.
    func goAwayReceived(lastStreamID: HTTP2StreamID) {
        goAwayLastStreamID = min(lastStreamID, goAwayLastStreamID ?? lastStreamID)
        if openStreams == 0 { close() }
    }

    /// The connection could not be made, or closed: waiting exchanges fail, and the pool
    /// forgets it.
    func closed(with error: any Error) {
        guard !isClosed else { return }
        isClosed = true
        let waiting = self.waiting
        self.waiting = []
        for call in waiting { call.completion(.failure(error)) }
        onClose?(self)
        onClose = nil
        onOverflow = nil
        channel = nil
        multiplexer = nil
    }

    func close() {
        channel?.close(promise: nil)
    }
}

/// Reads the frames of an upstream h2c connection's stream 0: the instance's `SETTINGS`
/// and `GOAWAY`.
final class UpstreamHTTP2ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame

    let connection: UpstreamHTTP2Connection

    init(connection: UpstreamHTTP2Connection) {
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data).payload {
        case .settings(.settings(let settings)):
            connection.settingsReceived(settings)
        case .goAway(let lastStreamID, _, _):
            connection.goAwayReceived(lastStreamID: lastStreamID)
        default:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        connection.closed(with: ChannelError.ioOnClosedChannel)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
