import NIOCore
import NIOHTTP2

/// The first handler of a client connection (after TLS, if any): it reads the connection's
/// first bytes, and when they are HTTP/2's connection preface (RFC 9113 §3.4) it gives the
/// connection to HTTP/2 — prior knowledge on the plain listener, or `h2` chosen by ALPN over
/// TLS. Otherwise it steps aside, and the ``ProxyHandler`` behind it reads HTTP/1.
///
/// Until then the proxy handler's timers bound the wait, TLS handshake included.
final class HTTPVersionSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// The bytes that open every HTTP/2 connection.
    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    private let loop: GatewayLoop
    /// The start of a preface, while no more came.
    private var held: ByteBuffer?

    init(loop: GatewayLoop) {
        self.loop = loop
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if var held {
            self.held = nil
            held.writeBuffer(&bytes)
            bytes = held
        }
        let count = min(bytes.readableBytes, Self.preface.count)
        let matches = bytes.withUnsafeReadableBytes { zip($0.prefix(count), Self.preface).allSatisfy { $0 == $1 } }
        if matches && count < Self.preface.count {
            held = bytes  // the start of a preface: wait for the rest
            return
        }
        let pipeline = context.pipeline.syncOperations
        if matches {
            do {
                if let proxy = try? pipeline.handler(type: ProxyHandler.self) {
                    pipeline.removeHandler(proxy, promise: nil)
                }
                // The sniffer is last now: HTTP/2's handlers go after it.
                try pipeline.configureGatewayHTTP2(loop: loop)
                loop.track(http2Connection: context.channel)
                // The proxy handler would have heard of a drain that began already.
                if loop.shared.isDraining {
                    context.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
                }
            } catch {
                context.close(promise: nil)
                return
            }
        }
        context.fireChannelRead(wrapInboundOut(bytes))
        pipeline.removeHandler(context: context, promise: nil)
    }
}
