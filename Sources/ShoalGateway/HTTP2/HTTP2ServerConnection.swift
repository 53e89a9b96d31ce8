import NIOCore
import NIOHTTP2

/// The last handler of a client's HTTP/2 connection, behind swift-nio-http2's codec (with no
/// multiplexer): it keeps the connection's streams, ``HTTP2ClientStream``s, and hands each
/// the frames with its ID.
///
/// So it keeps the flow control a multiplexer would: it gives the connection's receive window
/// back as the codec reports it used, as the multiplexer does, and each stream gives its own
/// back as its exchange reads. It tells each stream's exchange when the socket's writability
/// changes, and keeps the exchanges' deadlines on one timer (``schedule(_:at:)``). (The
/// connection manager in front of it follows the streams from the codec's events.)
final class HTTP2ServerConnection: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    /// Each stream's receive window: the protocol's default, which the gateway's `SETTINGS`
    /// leave as it is.
    static let streamWindow = 65_535
    /// The connection's receive window, kept at the protocol's default.
    static let connectionWindow = 65_535

    /// Makes what serves a new stream's request.
    private let makeExchange: (HTTP2ClientStream) -> any HTTP2StreamExchange
    private var context: ChannelHandlerContext?
    private var streams: [HTTP2StreamID: HTTP2ClientStream] = [:]
    /// The highest stream ID the client opened: a `HEADERS` for a lower one unknown here is
    /// for a stream the gateway reset.
    private var lastStreamID = HTTP2StreamID(0)
    /// The streams that got a frame in the current read.
    private var readStreams: [HTTP2ClientStream] = []
    /// The client's `SETTINGS_INITIAL_WINDOW_SIZE`: each new stream's send window.
    private var peerInitialWindow = 65_535
    /// The deadlines the streams' exchanges gave, in no order, and the task that runs at the
    /// earliest it was armed for.
    private var deadlines: [(at: NIODeadline, exchange: any HTTP2StreamExchange)] = []
    private var timer: Scheduled<Void>?
    private var timerAt = NIODeadline.distantFuture
    /// Whether frames of the connection's own (window updates) wait for a flush.
    private var ownFramesUnflushed = false
    private(set) var isWritable = true

    /// The connection's event loop.
    let eventLoop: any EventLoop

    init(
        eventLoop: any EventLoop, makeExchange: @escaping (HTTP2ClientStream) -> any HTTP2StreamExchange
    ) {
        self.eventLoop = eventLoop
        self.makeExchange = makeExchange
    }

    /// The client's connection, while the handler is in its pipeline.
    var channel: (any Channel)? { context?.channel }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        isWritable = context.channel.isWritable
    }

    // MARK: Frames

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard frame.streamID != .rootStream else {
            if case .settings(.settings(let settings)) = frame.payload { settingsReceived(settings) }
            return
        }
        let stream: HTTP2ClientStream
        if let known = streams[frame.streamID] {
            stream = known
        } else {
            guard case .headers = frame.payload, frame.streamID > lastStreamID else { return }
            lastStreamID = frame.streamID
            stream = HTTP2ClientStream(streamID: frame.streamID, connection: self, sendWindow: peerInitialWindow)
            streams[frame.streamID] = stream
            stream.exchange = makeExchange(stream)
        }
        if !stream.readPending {
            stream.readPending = true
            readStreams.append(stream)
        }
        stream.received(frame.payload)
    }

    /// The read ended: each stream that got frames tells its exchange, which sends what it
    /// read on; then the window updates go.
    func channelReadComplete(context: ChannelHandlerContext) {
        let read = readStreams
        readStreams.removeAll(keepingCapacity: true)
        for stream in read {
            stream.readPending = false
            stream.readComplete()
        }
        flushOwnFrames()
        context.fireChannelReadComplete()
    }

    /// The client's `SETTINGS`: a new initial window moves every open stream's send window.
    private func settingsReceived(_ settings: HTTP2Settings) {
        for setting in settings where setting.parameter == .initialWindowSize {
            let delta = setting.value - peerInitialWindow
            peerInitialWindow = setting.value
            if delta != 0 { for stream in streams.values { stream.sendWindowChanged(by: delta) } }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let closed = event as? StreamClosedEvent {
            streams.removeValue(forKey: closed.streamID)?.closed()
        } else if let window = event as? NIOHTTP2WindowUpdatedEvent, window.streamID == .rootStream,
            let size = window.inboundWindowSize, size <= Self.connectionWindow / 2
        {
            // As swift-nio-http2's multiplexer does: the connection's window back to its size
            // once half of it is used.
            write(
                HTTP2Frame(
                    streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: Self.connectionWindow - size)),
                promise: nil)
            ownFramesUnflushed = true
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        isWritable = context.channel.isWritable
        for stream in Array(streams.values) { stream.writabilityChanged() }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        closeStreams()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        closeStreams()
        self.context = nil
    }

    /// The connection went: every stream's exchange hears it closed.
    private func closeStreams() {
        let streams = self.streams
        self.streams = [:]
        readStreams = []
        for stream in streams.values { stream.closed() }
        timer?.cancel()
        timer = nil
        deadlines = []
    }

    // MARK: Writing, for the streams

    func write(_ frame: HTTP2Frame, promise: EventLoopPromise<Void>?) {
        guard let context else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        context.write(wrapOutboundOut(frame), promise: promise)
    }

    func flush() {
        ownFramesUnflushed = false
        context?.flush()
    }

    /// Gives a stream's receive window back.
    func windowUpdate(_ streamID: HTTP2StreamID, increment: Int) {
        write(HTTP2Frame(streamID: streamID, payload: .windowUpdate(windowSizeIncrement: increment)), promise: nil)
        ownFramesUnflushed = true
    }

    /// Sends the connection's own frames written since the last flush.
    func flushOwnFrames() {
        guard ownFramesUnflushed else { return }
        flush()
    }

    // MARK: Deadlines, for the streams' exchanges

    /// Calls `exchange` back (``HTTP2StreamExchange/deadlinePassed()``) once `deadline`
    /// passes, in place of any deadline it gave before. The connection keeps one NIO task,
    /// for the earliest deadline it was armed for; when it runs, the exchanges whose deadlines
    /// passed hear of it, and it is armed again for the next.
    func schedule(_ exchange: any HTTP2StreamExchange, at deadline: NIODeadline) {
        cancelTimer(for: exchange)
        deadlines.append((deadline, exchange))
        guard timer == nil || deadline < timerAt else { return }
        armTimer(at: deadline)
    }

    /// Forgets the deadline `exchange` gave, if any. The task stays armed: when it runs, it
    /// finds nothing due.
    func cancelTimer(for exchange: any HTTP2StreamExchange) {
        guard let index = deadlines.firstIndex(where: { $0.exchange === exchange }) else { return }
        deadlines.swapAt(index, deadlines.count - 1)
        deadlines.removeLast()
    }

    private func armTimer(at deadline: NIODeadline) {
        timer?.cancel()
        timerAt = deadline
        timer = eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { self.deadlinesDue() }
    }

    private func deadlinesDue() {
        timer = nil
        timerAt = .distantFuture
        let now = eventLoop.now
        var due: [any HTTP2StreamExchange] = []
        deadlines.removeAll { deadline in
            guard deadline.at <= now else { return false }
            due.append(deadline.exchange)
            return true
        }
        if let next = deadlines.lazy.map(\.at).min() { armTimer(at: next) }
        for exchange in due { exchange.deadlinePassed() }
    }

    /// Forgets a stream the gateway reset: frames for it that still come are dropped.
    func forget(_ stream: HTTP2ClientStream) {
        if streams[stream.streamID] === stream { streams[stream.streamID] = nil }
    }
}
