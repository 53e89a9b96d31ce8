import NIOCore

/// What an upstream connection reports to the exchange using it. All calls come on the
/// connection's event loop, which is the client connection's too.
protocol UpstreamDelegate: AnyObject {
    /// A final response's head; `framing` is `nil` when it has no body.
    func upstream(_ connection: UpstreamConnection, head: ResponseHead, framing: HTTPBodyDecoder.Framing?)
    func upstream(_ connection: UpstreamConnection, body: ByteBuffer)
    /// The response ended, with the trailer fields of a chunked body that had any.
    func upstreamEnded(_ connection: UpstreamConnection, trailers: HTTPFieldList?)
    func upstreamReadComplete(_ connection: UpstreamConnection)
    func upstream(_ connection: UpstreamConnection, closedWith error: (any Error)?)
    func upstreamWritabilityChanged(_ connection: UpstreamConnection)
}

/// One keep-alive HTTP/1.1 connection to an instance, owned by one event loop. It reads
/// responses off the socket's bytes itself: heads with ``ResponseHeadReader``, bodies with
/// ``HTTPBodyDecoder``.
///
/// An exchange on a route whose instances speak h2c has an ``UpstreamStream`` instead, a
/// subclass that carries one request on one HTTP/2 stream: the exchange writes the same
/// bytes and hears the same calls.
class UpstreamConnection {
    let channel: any Channel
    /// `host:port` of the instance.
    let address: String
    /// The exchange using the connection; `nil` while it is idle in the pool.
    ///
    /// A strong reference, cleared whenever the connection leaves an exchange (released to
    /// the pool, closed, or dropped by the exchange). It is not `weak` because a weak
    /// reference gives its object a side table for good, and every retain and release of the
    /// client's handler then takes the runtime's slow path, several times a request.
    var delegate: (any UpstreamDelegate)?
    /// Set once the connection closed (the peer, an error, or the pool).
    private(set) var isClosed = false
    /// Called once when the connection closes, so the pool can forget it.
    var onClose: ((UpstreamConnection) -> Void)?
    /// When it went idle, for the pool's idle timeout.
    var idleSince: NIODeadline = .now()
    /// Whether the request in flight is HEAD: its answer has no body, whatever it says.
    var requestIsHead = false
    /// Whether the request in flight asks to switch protocols: a `101` answer is then final,
    /// and every byte after it is the new protocol's, until the connection closes.
    var requestIsUpgrade = false
    /// Whether the connection goes back to a pool after a clean exchange: `false` for an
    /// HTTP/2 stream, which ends with its exchange.
    let pooled: Bool
    /// Set when the connection failed in a way that shows the instance never ran the request
    /// (an HTTP/2 stream refused, or left out by a `GOAWAY`): a retry is safe even for a
    /// request that is not idempotent.
    var failedBeforeRunning = false
    /// The last handler's context: writes through it skip the `Channel` existential.
    let context: ChannelHandlerContext
    /// Whether reading the instance is paused (backpressure from the client).
    private var readingPaused = false
    /// Whether bytes were written since the last flush: a flush with nothing to send still
    /// walks NIO's pipeline and write path.
    private var unflushed = false
    /// Bytes read and not yet parsed.
    private var inbound = ByteBuffer.released
    private var heads = ResponseHeadReader()
    /// The body being read; `nil` while waiting for a head.
    private var body: HTTPBodyDecoder?

    /// The longest response head read before the response is refused.
    static let maxHeadBytes = 64 * 1024

    init(channel: any Channel, address: String, context: ChannelHandlerContext, pooled: Bool = true) {
        self.channel = channel
        self.address = address
        self.context = context
        self.pooled = pooled
    }

    /// Writes bytes of the request, as an HTTP/1.1 client writes them, unflushed.
    func write(_ bytes: ByteBuffer) {
        unflushed = true
        context.write(NIOAny(bytes), promise: nil)
    }

    /// Sends what was written, if anything was.
    func flush() {
        guard unflushed else { return }
        unflushed = false
        context.flush()
    }

    /// Whether the request and its response both ended on the connection: an HTTP/2 stream
    /// then closes by itself.
    var exchangeEnded: Bool { false }

    /// Whether the instance takes more of the request now: the socket's writability, or for
    /// an HTTP/2 stream, its flow-control window too.
    var isWritable: Bool { channel.isWritable }

    /// Notes that bytes were written through ``context`` and wait for ``flush()``.
    func markUnflushed() {
        unflushed = true
    }

    /// Starts or stops reading the instance.
    func setReading(_ reading: Bool) {
        guard readingPaused == reading else { return }
        readingPaused = !reading
        channel.setOption(ChannelOptions.autoRead, value: reading).whenFailure { _ in }
    }

    /// Bytes from the instance: parsed into the delegate's calls.
    func received(_ buffer: ByteBuffer) {
        guard delegate != nil else {
            close()  // bytes on an idle connection: it cannot be trusted for the next request
            return
        }
        if inbound.readableBytes == 0 {
            inbound = buffer
        } else {
            var buffer = buffer
            inbound.writeBuffer(&buffer)
        }
        do {
            try parse()
        } catch {
            fail(error)
        }
        if inbound.readableBytes == 0 { inbound = .released }
    }

    private func parse() throws(HTTPParseError) {
        while let delegate {
            if var decoder = body {
                guard let piece = try decoder.next(from: &inbound) else {
                    body = decoder
                    return
                }
                switch piece {
                case .data(let data):
                    body = decoder
                    delegate.upstream(self, body: data)
                case .end:
                    body = nil
                    let leftover = inbound.readableBytes > 0
                    delegate.upstreamEnded(self, trailers: decoder.trailers)
                    if leftover { close() }  // bytes past the response: not reusable
                    return
                }
            } else {
                guard let head = try heads.read(from: &inbound, maxBytes: Self.maxHeadBytes) else { return }
                if head.status == 101 {
                    guard requestIsUpgrade else {
                        throw HTTPParseError("the instance switched protocols, which the request did not ask for")
                    }
                    body = HTTPBodyDecoder(.untilClose)
                    delegate.upstream(self, head: head, framing: .untilClose)
                    continue
                }
                if head.status < 200 {
                    // 100 Continue and other interim answers: the gateway sends its own.
                    continue
                }
                let framing = head.bodyFraming(requestIsHead: requestIsHead)
                body = HTTPBodyDecoder(framing ?? .length(0))
                delegate.upstream(self, head: head, framing: framing)
            }
        }
    }

    /// The response cannot be read: the exchange hears of it, and the connection closes.
    func fail(_ error: HTTPParseError) {
        let delegate = delegate
        self.delegate = nil
        delegate?.upstream(self, closedWith: error)
        close()
    }

    func closed(with error: (any Error)?) {
        guard !isClosed else { return }
        isClosed = true
        // A body framed by the connection's end ends here.
        if var decoder = body, delegate != nil, decoder.connectionClosed() {
            body = nil
            delegate?.upstreamEnded(self, trailers: nil)
        }
        let onClose = self.onClose
        self.onClose = nil
        onClose?(self)
        delegate?.upstream(self, closedWith: error)
        delegate = nil
    }

    /// Closes the connection (it will not be reused).
    func close() {
        channel.close(mode: .all, promise: nil)
    }
}

/// The one handler of an upstream channel: hands what it reads to the connection.
final class UpstreamHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

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
        connection.received(unwrapInboundIn(data))
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
