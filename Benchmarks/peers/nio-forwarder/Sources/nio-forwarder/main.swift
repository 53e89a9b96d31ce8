// nio-forwarder PORT THREADS BACKEND-PORT...
//
// Accepts connections on 127.0.0.1:PORT and gives each its own connection to one of the
// backends on 127.0.0.1 (in turn), then copies bytes both ways until either side closes. It
// reads no HTTP, so it works only for clients that, like wrk, keep each connection's requests
// in order; it has no timeouts, limits, retries or balancing. What it costs a request is the
// floor for any proxy built on SwiftNIO's channel pipeline, the gateway included.
import NIOCore
import NIOPosix
import Synchronization

/// One side of a forwarded pair: what it reads is written to the other side, flushed when
/// a read burst ends. Both sides live on one event loop.
final class ForwardingHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    var peer: ForwardingHandler?
    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        peer = nil  // breaks the pair's reference cycle
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        peer?.context?.write(data, promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        peer?.context?.flush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        peer?.context?.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
guard arguments.count >= 3, arguments.count == CommandLine.arguments.count - 1 else {
    print("usage: nio-forwarder PORT THREADS BACKEND-PORT...")
    exit(2)
}
let (port, threads, backends) = (arguments[0], arguments[1], Array(arguments[2...]))
let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
let turn = Atomic<Int>(0)

let server = try await ServerBootstrap(group: group)
    .serverChannelOption(.backlog, value: 1024)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { client in
        let backend = backends[turn.wrappingAdd(1, ordering: .relaxed).oldValue % backends.count]
        // The client's channel is registered (and read) only once this future completes,
        // so no byte arrives before its peer exists.
        return ClientBootstrap(group: client.eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: "127.0.0.1", port: backend)
            .flatMapThrowing { upstream in
                let (clientSide, upstreamSide) = (ForwardingHandler(), ForwardingHandler())
                clientSide.peer = upstreamSide
                upstreamSide.peer = clientSide
                try client.pipeline.syncOperations.addHandler(clientSide)
                try upstream.pipeline.syncOperations.addHandler(upstreamSide)
            }
    }
    .bind(host: "127.0.0.1", port: port)
    .get()
try await server.closeFuture.get()
