import NIOCore
import NIOHTTP2

extension ChannelPipeline.SynchronousOperations {
    /// Makes the connection an HTTP/2 server connection of the gateway, at the pipeline's end:
    /// a ``FlushCoalescer``, swift-nio-http2's codec (with no multiplexer), an
    /// ``HTTP2StreamEventSieve``, swift-nio-http2's connection manager, an
    /// ``HTTP2ConnectionErrorHandler``, and an ``HTTP2ServerConnection``, which
    /// serves each stream the client opens with a ``ProxyHandler``.
    ///
    /// The codec keeps its protections against the known floods (rapid reset, `CONTINUATION`,
    /// `SETTINGS` and `PING`, empty `DATA`): a peer that trips one gets `GOAWAY`, and the error
    /// handler closes its connection. The
    /// manager closes a connection with no stream for the idle timeout, and turns a drain
    /// (`ChannelShouldQuiesceEvent`) into `GOAWAY`, closing once the streams end or the drain
    /// timeout passes.
    func configureGatewayHTTP2(loop: GatewayLoop) throws {
        let limits = loop.shared.configuration.limits
        let manager = NIOHTTP2ServerConnectionManagementHandler(
            eventLoop: loop.eventLoop,
            configuration: .init(
                maxIdleTime: limits.idleTimeout.timeAmount, maxAge: nil,
                maxGraceTime: limits.drainTimeout.timeAmount, keepalive: nil))
        var connection = NIOHTTP2Handler.ConnectionConfiguration()
        connection.initialSettings = [
            HTTP2Setting(parameter: .maxConcurrentStreams, value: limits.maxConcurrentStreams),
            HTTP2Setting(parameter: .maxHeaderListSize, value: limits.maxHeaderBytes),
        ]
        let coalescer = FlushCoalescer()
        try addHandler(coalescer)
        let codec = NIOHTTP2Handler(mode: .server, connectionConfiguration: connection)
        let errors = HTTP2ConnectionErrorHandler()
        // The client's address, worked out once for all its streams.
        let clientIP = try context(handler: coalescer).channel.remoteAddress?.ipAddress
        let streams = HTTP2ServerConnection(eventLoop: loop.eventLoop) { stream in
            ProxyHandler(loop: loop, stream: stream, clientIP: clientIP)
        }
        try addHandlers([codec, HTTP2StreamEventSieve(), manager, errors, streams])
        // The connection was active before the manager came: its idle timer starts on
        // channelActive, which would otherwise never reach it, and a connection that opens
        // no stream would never be closed.
        manager.channelActive(context: try context(handler: manager))
    }
}
