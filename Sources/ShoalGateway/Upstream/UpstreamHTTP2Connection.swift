import NIOCore
import NIOHTTP2

/// One h2c connection to an instance, carrying many exchanges at once, one stream each.
/// Owned by one event loop's ``UpstreamHTTP2Pool``.
///
/// The connection's pipeline is swift-nio-http2's codec with no multiplexer: the streams are
/// ``UpstreamStream``s, values of this connection rather than channels, and the connection's
/// handler hands each the frames with its ID. So the connection keeps the flow control a
/// multiplexer would: it gives the connection's receive window back as data comes, and the
/// streams theirs as they read it.
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
    /// The instance's `SETTINGS_INITIAL_WINDOW_SIZE`: each new stream's send window.
    private(set) var peerInitialWindow = 65_535
    /// Exchanges waiting for the connection to be made.
    private var waiting: [(acceptsTrailers: Bool, completion: (Result<UpstreamConnection, any Error>) -> Void)] = []
    /// The connection handler's context, once the connection is made.
    private var context: ChannelHandlerContext?
    /// The streams that wrote their first frame, by ID.
    private var streams: [HTTP2StreamID: UpstreamStream] = [:]
    private var nextStreamID = HTTP2StreamID(1)
    /// The streams that got a frame in the current read.
    private var readStreams: [UpstreamStream] = []
    /// The connection's receive window as the codec last reported it: data for a stream the
    /// gateway reset uses it too, and the codec drops that data without handing it on, so
    /// only its count is right.
    private var reportedWindow: Int?
    /// Whether frames of the connection's own (window updates, resets) wait for a flush.
    private var unflushed = false
    /// Called once when the connection closes, so the pool can forget it.
    var onClose: ((UpstreamHTTP2Connection) -> Void)?
    /// Called with the exchanges that waited for the connection and found no room on it
    /// once the instance said its limit: the pool finds them another.
    var onOverflow: ((_ acceptsTrailers: Bool, _ completion: @escaping (Result<UpstreamConnection, any Error>) -> Void) -> Void)?

    /// Each stream's receive window, advertised in the connection's `SETTINGS`: room for a
    /// call's messages.
    static let streamWindow = 1 << 20
    /// The connection's receive window, raised from the protocol's 65,535 when it starts:
    /// room for several streams' windows at once.
    static let connectionWindow = 8 << 20
    /// The last stream ID a client may use.
    private static let lastStreamID = HTTP2StreamID(Int32.max)

    init(address: String, maxStreams: Int) {
        self.address = address
        self.maxStreams = maxStreams
    }

    /// Whether another stream may open on it now or once it is made.
    var hasRoom: Bool {
        !isClosed && goAwayLastStreamID == nil && openStreams + waiting.count < maxStreams
            && nextStreamID < Self.lastStreamID
    }

    /// The connection's handler was added: the context its streams write through.
    func attached(_ context: ChannelHandlerContext) {
        self.context = context
    }

    /// The connection is up and the codec sent its preface: the update that raises the
    /// connection's receive window follows it.
    func activated() {
        guard let context else { return }
        let increment = Self.connectionWindow - 65_535
        context.write(
            NIOAny(HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: increment))),
            promise: nil)
        context.flush()
    }

    /// The connection was made; streams wait for the instance's `SETTINGS`, for up to
    /// `settingsTimeout`.
    func connected(on eventLoop: any EventLoop, settingsTimeout: TimeAmount) {
        eventLoop.assumeIsolated().scheduleTask(in: settingsTimeout) {
            if !self.isReady { self.close() }
        }
    }

    /// Opens a stream for one exchange, now or once the connection is ready.
    func openStream(acceptsTrailers: Bool, _ completion: @escaping (Result<UpstreamConnection, any Error>) -> Void) {
        guard isReady, let context, !isClosed else {
            waiting.append((acceptsTrailers, completion))
            return
        }
        openStreams += 1
        completion(.success(UpstreamStream(connection: self, context: context, acceptsTrailers: acceptsTrailers)))
    }

    /// The next stream ID, for a stream about to write its first frame.
    func assignID(to stream: UpstreamStream) -> HTTP2StreamID {
        let streamID = nextStreamID
        nextStreamID = streamID < Self.lastStreamID ? HTTP2StreamID(Int32(Int(streamID) + 2)) : streamID
        streams[streamID] = stream
        return streamID
    }

    /// Resets a stream the exchange gave up (`RST_STREAM` with `CANCEL`, unless it never
    /// wrote a frame), and forgets it.
    func reset(_ stream: UpstreamStream) {
        if let streamID = stream.streamID, streams.removeValue(forKey: streamID) != nil {
            write(HTTP2Frame(streamID: streamID, payload: .rstStream(.cancel)))
            flushWindowUpdates()
        }
        streamEnded()
    }

    /// Gives a stream's receive window back.
    func windowUpdate(_ streamID: HTTP2StreamID, increment: Int) {
        write(HTTP2Frame(streamID: streamID, payload: .windowUpdate(windowSizeIncrement: increment)))
    }

    /// Sends the connection's own frames written since the last flush.
    func flushWindowUpdates() {
        guard unflushed, let context else { return }
        unflushed = false
        context.flush()
    }

    private func write(_ frame: HTTP2Frame) {
        guard let context, !isClosed else { return }
        context.write(NIOAny(frame), promise: nil)
        unflushed = true
    }

    private func streamEnded() {
        openStreams -= 1
        if openStreams == 0 {
            idleSince = .now()
            if goAwayLastStreamID != nil { close() }
        }
    }

    /// A frame from the instance: the connection's own, or one for a stream.
    func received(_ frame: HTTP2Frame) {
        guard frame.streamID != .rootStream else {
            switch frame.payload {
            case .settings(.settings(let settings)):
                settingsReceived(settings)
            case .goAway(let lastStreamID, _, _):
                goAwayReceived(lastStreamID: lastStreamID)
            default:
                break
            }
            return
        }
        guard let stream = streams[frame.streamID] else { return }  // a stream the gateway reset
        if !stream.readPending {
            stream.readPending = true
            readStreams.append(stream)
        }
        stream.received(frame.payload)
    }

    /// The codec's count of the connection's receive window.
    func receiveWindowReported(_ size: Int) {
        reportedWindow = size
    }

    /// The read ended: the connection's window is given back once half of it is used (from
    /// the codec's last count of the read, which follows any update sent before it), and each
    /// stream that got frames tells its exchange, which flushes.
    func readComplete() {
        if let size = reportedWindow {
            reportedWindow = nil
            if size <= Self.connectionWindow / 2 {
                write(
                    HTTP2Frame(
                        streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: Self.connectionWindow - size)))
            }
        }
        let read = readStreams
        readStreams.removeAll(keepingCapacity: true)
        for stream in read {
            stream.readPending = false
            stream.delegate.map { $0.upstreamReadComplete(stream) }
        }
        flushWindowUpdates()
    }

    /// The codec closed a stream.
    func streamClosed(_ streamID: HTTP2StreamID, reason: HTTP2ErrorCode?) {
        guard let stream = streams.removeValue(forKey: streamID) else { return }
        streamEnded()
        stream.codecClosed(reason: reason, goAwayLastStreamID: goAwayLastStreamID)
    }

    /// The codec refused a frame of one stream (the stream is reset).
    func streamFailed(_ streamID: HTTP2StreamID, error: any Error) {
        guard let stream = streams.removeValue(forKey: streamID) else { return }
        streamEnded()
        stream.connectionClosed(error)
    }

    /// The socket's writability changed: every stream's exchange hears of it.
    func writabilityChanged() {
        for stream in streams.values { stream.delegate.map { $0.upstreamWritabilityChanged(stream) } }
    }

    /// The instance's `SETTINGS`. The first makes the connection ready: the exchanges waiting
    /// get streams up to the instance's limit, and the pool finds the others another.
    func settingsReceived(_ settings: HTTP2Settings) {
        for setting in settings {
            switch setting.parameter {
            case .maxConcurrentStreams:
                maxStreams = setting.value
            case .initialWindowSize:
                let delta = setting.value - peerInitialWindow
                peerInitialWindow = setting.value
                if delta != 0 { for stream in streams.values { stream.initialWindowChanged(by: delta) } }
            default:
                break
            }
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

    /// The connection could not be made, or closed: waiting exchanges and open streams fail,
    /// and the pool forgets it.
    func closed(with error: any Error) {
        guard !isClosed else { return }
        isClosed = true
        let waiting = self.waiting
        self.waiting = []
        for call in waiting { call.completion(.failure(error)) }
        let streams = self.streams
        self.streams = [:]
        for stream in streams.values { stream.connectionClosed(error) }
        readStreams = []
        onClose?(self)
        onClose = nil
        onOverflow = nil
        context = nil
    }

    func close() {
        context?.close(promise: nil)
    }
}

/// The last handler of an upstream h2c connection, behind swift-nio-http2's codec: hands
/// every frame, stream event and error to the connection.
final class UpstreamHTTP2ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    let connection: UpstreamHTTP2Connection

    init(connection: UpstreamHTTP2Connection) {
        self.connection = connection
    }

    func handlerAdded(context: ChannelHandlerContext) {
        connection.attached(context)
    }

    func channelActive(context: ChannelHandlerContext) {
        connection.activated()
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        connection.received(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        connection.readComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let closed = event as? StreamClosedEvent {
            connection.streamClosed(closed.streamID, reason: closed.reason)
        } else if let window = event as? NIOHTTP2WindowUpdatedEvent, window.streamID == .rootStream,
            let size = window.inboundWindowSize
        {
            connection.receiveWindowReported(size)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        connection.writabilityChanged()
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        connection.closed(with: ChannelError.ioOnClosedChannel)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        connection.closed(with: ChannelError.ioOnClosedChannel)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A write refused for one stream, or a frame of one stream the codec refused and
        // reset (its close event follows): the other streams go on.
        if let error = error as? NIOHTTP2Errors.StreamError {
            connection.streamFailed(error.streamID, error: error.baseError)
            return
        }
        if HTTP2ConnectionErrorHandler.isStreamError(error) { return }
        connection.closed(with: error)
        context.close(promise: nil)
    }
}
