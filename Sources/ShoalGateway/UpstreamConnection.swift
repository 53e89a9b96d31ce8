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

    init(channel: any Channel, address: String) {
        self.channel = channel
        self.address = address
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
