import NIOCore

/// The last handler of an HTTP/2 client connection: an error that reaches it is one of the
/// whole connection (a protocol error, or a peer that tripped a flood limit), which
/// swift-nio-http2 has answered with `GOAWAY`. It closes the connection, which sends what is
/// written first; otherwise the peer could go on sending, and the codec on answering.
final class HTTP2ConnectionErrorHandler: ChannelInboundHandler {
    typealias InboundIn = Never

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
