import NIOCore
import NIOHTTP1

/// What an upstream connection reports to the exchange using it. All calls come on the
/// connection's event loop, which is the client connection's too.
protocol UpstreamDelegate: AnyObject {
    func upstream(_ connection: UpstreamConnection, read part: HTTPClientResponsePart)
    func upstreamReadComplete(_ connection: UpstreamConnection)
    func upstream(_ connection: UpstreamConnection, closedWith error: (any Error)?)
    func upstreamWritabilityChanged(_ connection: UpstreamConnection)
}

/// One keep-alive HTTP/1.1 connection to an instance, owned by one event loop.
final class UpstreamConnection {
    let channel: any Channel
    /// `host:port` of the instance.
    let address: String
    /// The exchange using the connection; `nil` while it is idle in the pool.
    weak var delegate: (any UpstreamDelegate)?
    /// Set once the connection closed (the peer, an error, or the pool).
    private(set) var isClosed = false
    /// Called once when the connection closes, so the pool can forget it.
    var onClose: (() -> Void)?
    /// When it went idle, for the pool's idle timeout.
    var idleSince: NIODeadline = .now()
    /// Requests it has carried; the first is the only one a fresh connection has.
    var requests = 0
    /// The last handler's context: writes through it skip the `Channel` existential.
    let context: ChannelHandlerContext
    /// Whether reading the instance is paused (backpressure from the client).
    private var readingPaused = false

    init(channel: any Channel, address: String, context: ChannelHandlerContext) {
        self.channel = channel
        self.address = address
        self.context = context
    }

    /// Writes a part of the request, unflushed.
    func write(_ part: HTTPClientRequestPart) {
        context.write(NIOAny(part), promise: nil)
    }

    func flush() {
        context.flush()
    }

    /// Starts or stops reading the instance.
    func setReading(_ reading: Bool) {
        guard readingPaused == reading else { return }
        readingPaused = !reading
        channel.setOption(ChannelOptions.autoRead, value: reading).whenFailure { _ in }
    }

    func closed(with error: (any Error)?) {
        guard !isClosed else { return }
        isClosed = true
        onClose?()
        onClose = nil
        delegate?.upstream(self, closedWith: error)
        delegate = nil
    }

    /// Closes the connection (it will not be reused).
    func close() {
        channel.close(mode: .all, promise: nil)
    }
}

/// The last handler of an upstream channel: hands what it reads to the connection's delegate.
final class UpstreamHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    /// Set right after the channel is made, on its event loop.
    var connection: UpstreamConnection?
    private(set) var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    /// Breaks the handler → connection → context → handler cycle once the channel is gone.
    func handlerRemoved(context: ChannelHandlerContext) {
        connection?.closed(with: nil)
        connection = nil
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let connection else { return }
        let part = unwrapInboundIn(data)
        if let delegate = connection.delegate {
            delegate.upstream(connection, read: part)
        } else {
            // Bytes on an idle connection: it cannot be trusted for the next request.
            context.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if let connection { connection.delegate?.upstreamReadComplete(connection) }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if let connection { connection.delegate?.upstreamWritabilityChanged(connection) }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        connection?.closed(with: nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        connection?.closed(with: error)
        context.close(promise: nil)
    }
}
