import NIOCore
import NIOHTTP2

/// Answers the server's PING frames before they reach the HTTP/2 codec.
///
/// etcd's gRPC server (grpc-go) sends a PING to estimate the connection's bandwidth-delay
/// product nearly every time a request's data arrives. swift-nio-http2 counts inbound PING
/// and SETTINGS frames against a denial-of-service limit, 200 in 30 seconds by default, which
/// grpc-swift's transport does not let a client raise. So every ~200 calls the codec closed
/// the connection as an attack ("excessive control frames"), failing the calls on it and
/// making every call wait for a new one. Pings are harmless to a client: this handler, placed
/// just before the codec, acknowledges each one itself, as the codec would, and passes every
/// other byte on.
final class HTTP2PingAnswerer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var sieve = HTTP2PingSieve()

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let sifted = sieve.sift(unwrapInboundIn(data))
        if sifted.passed.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(sifted.passed)) }
        guard !sifted.pings.isEmpty else { return }
        // Below the codec, and after it has handled the bytes before: every frame it writes
        // is whole by the time this one goes out.
        for payload in sifted.pings {
            context.write(
                wrapOutboundOut(HTTP2PingSieve.acknowledgement(payload, allocator: context.channel.allocator)),
                promise: nil)
        }
        context.flush()
    }

    /// Puts an answerer just before the channel's HTTP/2 codec: behind TLS, when there is
    /// TLS, so that it sees the frames in the clear.
    static func install(on channel: any Channel) -> EventLoopFuture<Void> {
        channel.eventLoop.makeCompletedFuture {
            let operations = channel.pipeline.syncOperations
            let codec = try operations.handler(type: NIOHTTP2Handler.self)
            try operations.addHandler(HTTP2PingAnswerer(), position: .before(codec))
        }
    }
}
