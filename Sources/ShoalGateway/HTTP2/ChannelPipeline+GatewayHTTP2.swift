import NIOCore
import NIOHTTP2

extension ChannelPipeline.SynchronousOperations {
    /// Makes the connection an HTTP/2 server connection of the gateway, at the pipeline's end:
    /// a ``FlushCoalescer``, swift-nio-http2's codec and connection manager, an
    /// ``HTTP2ConnectionErrorHandler``, and for each stream the client opens, an
    /// ``HTTP2StreamBridge`` in front of a ``ProxyHandler``.
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
        let bound = NIOLoopBound(loop, eventLoop: loop.eventLoop)
        try addHandler(FlushCoalescer())
        _ = try configureHTTP2Pipeline(
            mode: .server, connectionConfiguration: connection, streamConfiguration: .init(),
            streamDelegate: manager.http2StreamDelegate, position: .last
        ) { stream in
            stream.eventLoop.makeCompletedFuture {
                try stream.pipeline.syncOperations.addHandler(HTTP2StreamBridge())
                try stream.pipeline.syncOperations.addHandler(ProxyHandler(loop: bound.value, servesStream: true))
            }
        }
        try addHandler(manager, position: .after(handler(type: NIOHTTP2Handler.self)))
        try addHandler(HTTP2ConnectionErrorHandler(), position: .after(manager))
        // The connection was active before the manager came: its idle timer starts on
        // channelActive, which would otherwise never reach it, and a connection that opens
        // no stream would never be closed.
        manager.channelActive(context: try context(handler: manager))
    }
}
