import NIOCore
import NIOPosix

/// One probe of an instance: a TCP connect, or an HTTP/1.1 GET whose status line is read.
enum HealthProbe {
    /// Whether the probe passed within `timeout`.
    static func run(
        _ probe: HealthCheck.Probe, host: String, port: Int, timeout: Duration,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async -> Bool {
        // Completed by the handler when the status line is read or the connection ends.
        let status = group.next().makePromise(of: Int?.self)
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(.nanoseconds(timeout.totalNanoseconds))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(StatusLineHandler(status: status))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: host, port: port).get()
        } catch {
            status.succeed(nil)  // the handler never ran, or has already ended it; once is enough
            return false
        }
        guard case .http(let path) = probe else {
            try? await channel.close()
            return true
        }
        let request =
            "GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nUser-Agent: shoal-health\r\nConnection: close\r\n\r\n"
        channel.writeAndFlush(channel.allocator.buffer(string: request), promise: nil)
        let deadline = channel.eventLoop.scheduleTask(in: .nanoseconds(timeout.totalNanoseconds)) {
            channel.close(promise: nil)
        }
        let code = try? await status.futureResult.get()
        deadline.cancel()
        try? await channel.close()
        return code.map { (200...299).contains($0) } ?? false
    }
}

/// Reads bytes until the end of the first line and completes with its status code.
final class StatusLineHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let status: EventLoopPromise<Int?>
    private var line = ByteBuffer()
    private var done = false

    init(status: EventLoopPromise<Int?>) {
        self.status = status
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else { return }
        var bytes = unwrapInboundIn(data)
        line.writeBuffer(&bytes)
        guard let end = line.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            if line.readableBytes > 1024 { finish(context: context, nil) }  // no status line: fail
            return
        }
        let text = String(decoding: line.readableBytesView[..<end], as: UTF8.self)
        let parts = text.split(separator: " ")
        let code = parts.count >= 2 && parts[0].hasPrefix("HTTP/1.") ? Int(parts[1]) : nil
        finish(context: context, code)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(context: context, nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(context: context, nil)
        context.close(promise: nil)
    }

    private func finish(context: ChannelHandlerContext, _ code: Int?) {
        guard !done else { return }
        done = true
        status.succeed(code)
    }
}
