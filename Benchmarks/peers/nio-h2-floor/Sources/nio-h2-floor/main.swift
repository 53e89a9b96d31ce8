// nio-h2-floor streams|frames|grpc PORT [DELAY_MS]
//
// Answers every HTTP/2 request (prior knowledge, on 127.0.0.1:PORT, one thread) with
// `200 ok` at once, proxying nothing: what swift-nio-http2 costs a request, below any proxy
// built on it. `streams` gives each stream its own child channel (the multiplexer, as the
// gateway uses it); `frames` answers each request's HEADERS from one handler on the
// connection, with no channel per stream.
//
// `grpc` is a gRPC instance for the gateway's gRPC benchmark: each call, once its request
// ended, gets a gRPC answer (a header block, one 2-byte message, `grpc-status: 0` in the
// trailers), after DELAY_MS milliseconds (0 by default).
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

/// The `grpc` mode's handler: one per stream channel.
final class GRPCAnswer: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload
    static let head: HPACKHeaders = [":status": "200", "content-type": "application/grpc"]
    static let trailers: HPACKHeaders = ["grpc-status": "0"]
    let delay: TimeAmount

    init(delay: TimeAmount) {
        self.delay = delay
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let ended: Bool
        switch unwrapInboundIn(data) {
        case .headers(let headers): ended = headers.endStream
        case .data(let body): ended = body.endStream
        default: ended = false
        }
        guard ended else { return }
        if delay == .zero {
            answer(context)
        } else {
            context.eventLoop.assumeIsolated().scheduleTask(in: delay) { self.answer(context) }
        }
    }

    private func answer(_ context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(.headers(.init(headers: Self.head))), promise: nil)
        // A gRPC message: not compressed, 2 bytes long, "ok".
        let message = ByteBuffer(bytes: [0, 0, 0, 0, 2, 0x6F, 0x6B])
        context.write(wrapOutboundOut(.data(.init(data: .byteBuffer(message)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.headers(.init(headers: Self.trailers, endStream: true))), promise: nil)
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

let arguments = Array(CommandLine.arguments.dropFirst())
guard (2...3).contains(arguments.count), ["streams", "frames", "grpc"].contains(arguments[0]),
    let port = Int(arguments[1]), let delay = Int(arguments.count == 3 ? arguments[2] : "0")
else {
    print("usage: nio-h2-floor streams|frames|grpc PORT [DELAY_MS]")
    exit(2)
}
let mode = arguments[0]
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let server = try await ServerBootstrap(group: group)
    .serverChannelOption(.backlog, value: 1024)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
            let pipeline = channel.pipeline.syncOperations
            if mode != "frames" {
                _ = try pipeline.configureHTTP2Pipeline(
                    mode: .server, connectionConfiguration: .init(), streamConfiguration: .init()
                ) { stream in
                    stream.eventLoop.makeCompletedFuture {
                        let handler: any ChannelHandler =
                            mode == "grpc" ? GRPCAnswer(delay: .milliseconds(Int64(delay))) : StreamAnswer()
                        try stream.pipeline.syncOperations.addHandler(handler)
                    }
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
