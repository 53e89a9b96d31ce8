import NIOCore

/// Holds back an HTTP/2 connection's flushes until the event loop has handled every event
/// ready in its current pass, then flushes once.
///
/// Each stream's response ends with a flush, and those come from the reads of many upstream
/// connections in one pass of the loop: flushed one by one, each would be a `write` to the
/// client's socket (and a TLS record). Held to the end of the pass (a task the loop runs
/// after its I/O), they go out together. A close flushes first, so nothing written before it
/// (a `GOAWAY`) is lost.
final class FlushCoalescer: ChannelOutboundHandler {
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    /// Whether a flush waits for the end of the loop's pass.
    private var pending = false

    func flush(context: ChannelHandlerContext) {
        guard !pending else { return }
        pending = true
        context.eventLoop.assumeIsolated().execute {
            guard self.pending else { return }
            self.pending = false
            context.flush()
        }
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if pending {
            pending = false
            context.flush()
        }
        context.close(mode: mode, promise: promise)
    }
}
