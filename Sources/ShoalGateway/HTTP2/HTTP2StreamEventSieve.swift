import NIOCore
import NIOHTTP2

/// Passes on the codec's stream events only for streams that it said opened.
///
/// Without a multiplexer, swift-nio-http2's codec sends its stream events down the pipeline,
/// where the connection manager counts open streams from them. A stream the codec refuses
/// with its first header block (a malformed field name, say) is reset before it was said to
/// open, but its close is still sent: the manager would count a stream closing that never
/// opened, which it takes for a bug of its own (an assertion, in a debug build). This
/// handler, between the codec and the manager, drops such closes.
final class HTTP2StreamEventSieve: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame
    typealias InboundOut = HTTP2Frame

    /// The streams said to be open.
    private var open: Set<HTTP2StreamID> = []

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let created = event as? NIOHTTP2StreamCreatedEvent {
            open.insert(created.streamID)
        } else if let closed = event as? StreamClosedEvent, open.remove(closed.streamID) == nil {
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}
