// nio-h2-floor streams|frames PORT
//
// Answers every HTTP/2 request (prior knowledge, on 127.0.0.1:PORT, one thread) with
// `200 ok` at once, proxying nothing: what swift-nio-http2 costs a request, below any proxy
// built on it. `streams` gives each stream its own child channel (the multiplexer, as the
// gateway uses it); `frames` answers each request's HEADERS from one handler on the
// connection, with no channel per stream.
import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix

let answer: HPACKHeaders = [":status": "200", "content-length": "2"]

/// The `streams` mode's handler: one per stream channel.
final class StreamAnswer: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .headers(let headers) = unwrapInboundIn(data), headers.endStream else { return }
        context.write(wrapOutboundOut(.headers(.init(headers: answer))), promise: nil)
        let body = HTTP2Frame.FramePayload.data(.init(data: .byteBuffer(ByteBuffer(string: "ok")), endStream: true))
        context.writeAndFlush(wrapOutboundOut(body), promise: nil)
    }
}

/// The `frames` mode's handler: one per connection, flushing once per read burst.
final class FrameAnswer: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame
    private var unflushed = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard case .headers(let headers) = frame.payload, headers.endStream else { return }
        context.write(wrapOutboundOut(HTTP2Frame(streamID: frame.streamID, payload: .headers(.init(headers: answer)))), promise: nil)
        let body = HTTP2Frame.FramePayload.data(.init(data: .byteBuffer(ByteBuffer(string: "ok")), endStream: true))
        context.write(wrapOutboundOut(HTTP2Frame(streamID: frame.streamID, payload: body)), promise: nil)
        unflushed = true
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if unflushed {
            unflushed = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }
}

let arguments = CommandLine.arguments.dropFirst()
guard arguments.count == 2, ["streams", "frames"].contains(arguments.first!), let port = Int(arguments.last!) else {
    print("usage: nio-h2-floor streams|frames PORT")
    exit(2)
}
let perStream = arguments.first == "streams"
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let server = try await ServerBootstrap(group: group)
    .serverChannelOption(.backlog, value: 1024)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
            let pipeline = channel.pipeline.syncOperations
            if perStream {
                _ = try pipeline.configureHTTP2Pipeline(
                    mode: .server, connectionConfiguration: .init(), streamConfiguration: .init()
                ) { stream in
                    stream.eventLoop.makeCompletedFuture { try stream.pipeline.syncOperations.addHandler(StreamAnswer()) }
                }
            } else {
                try pipeline.addHandler(NIOHTTP2Handler(mode: .server))
                try pipeline.addHandler(FrameAnswer())
            }
        }
    }
    .bind(host: "127.0.0.1", port: port)
    .get()
try await server.closeFuture.get()
