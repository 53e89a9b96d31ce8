import NIOCore
import NIOHTTP1
import NIOPosix
import ShoalCore
import Synchronization

/// A small HTTP/1.1 service for `shoal demo` and the gateway's tests: answers after a set
/// latency, fails a set share of requests with 503, and streams bodies both ways.
///
/// | request | answer |
/// |---|---|
/// | `GET /health` | 200 `ok` |
/// | `GET /download?bytes=N` | N bytes, streamed as the client reads them |
/// | `POST` or `PUT` with a body | 200 and the number of bytes read (never kept) |
/// | `GET /status/N` | status N |
/// | `GET /echo…` | the request as JSON: method, uri, headers |
/// | `PUT /control/latency?ms=N` | sets the latency |
/// | `GET /control/requests` | the number of requests read so far, but `/health` and `/control` |
/// | anything else | 200 `ok from NAME` |
///
/// With a concurrency limit it serves that many requests (but `/health` and `/control`) at
/// once and queues the rest in arrival order, so its latency grows with its load.
final class SampleService: Sendable {
    let name: String
    /// Added before each answer (but `/health` and `/control`), in nanoseconds.
    let latencyNanoseconds: Atomic<Int64>
    /// The share of requests (but `/health` and `/control`) answered 503, in millionths.
    let failurePerMillion: Atomic<Int>
    /// Requests whose head was read, but `/health` and `/control`.
    let requests = Atomic<Int>(0)
    /// The most requests served at once, or `nil` for no limit.
    let concurrency: Int?
    /// Requests served at once, and those waiting: each waiter starts its request on its
    /// connection's event loop.
    private let slots: Mutex<SampleServiceSlots<@Sendable () -> Void>>
    /// The listener and the connections open, for ``stop()``.
    private let channels = Mutex<(listener: (any Channel)?, open: [ObjectIdentifier: any Channel])>((nil, [:]))

    init(name: String, latency: Duration, failureRate: Double, concurrency: Int? = nil) {
        self.name = name
        self.concurrency = concurrency
        slots = Mutex(SampleServiceSlots(limit: concurrency))
        latencyNanoseconds = Atomic(latency.totalNanoseconds)
        failurePerMillion = Atomic(Int(failureRate * 1_000_000))
    }

    /// Listens on `host:port` (0 for a free port); the returned channel's local address says
    /// where.
    func start(host: String, port: Int, group: any EventLoopGroup) async throws -> any Channel {
        let listener = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in
                let id = ObjectIdentifier(channel)
                channels.withLock { $0.open[id] = channel }
                channel.closeFuture.whenComplete { [self] _ in _ = channels.withLock { $0.open.removeValue(forKey: id) }
                }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(SampleServiceHandler(service: self))
                }
            }
            .bind(host: host, port: port).get()
        channels.withLock { $0.listener = listener }
        return listener
    }

    /// Runs `start` (on its caller's loop) now if a slot is free, else once one is.
    func whenSlotFree(on loop: any EventLoop, _ start: @escaping @Sendable () -> Void) {
        guard concurrency != nil else { return start() }
        let waiter: @Sendable () -> Void = { loop.execute(start) }
        if slots.withLock({ $0.arrive(waiter) }) { start() }
    }

    /// A request that had a slot was answered, or its connection went: the next waiting starts.
    func slotFreed() {
        guard concurrency != nil else { return }
        slots.withLock { $0.finished() }?()
    }

    /// Stops as a killed process would: the listener and every connection close at once.
    func stop() {
        let (listener, open) = channels.withLock { ($0.listener, Array($0.open.values)) }
        listener?.close(promise: nil)
        for channel in open { channel.close(promise: nil) }
    }
}

/// One connection of a ``SampleService``.
final class SampleServiceHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let service: SampleService
    private var head: HTTPRequestHead?
    private var received = 0
    private var random = SplitMix64(seed: UInt64.random(in: .min ... .max))
    /// Bytes of a download still to send.
    private var downloadLeft = 0
    private var context: ChannelHandlerContext?

    init(service: SampleService) {
        self.service = service
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil  // the context holds this handler: drop the cycle
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            received = 0
            if !head.uri.hasPrefix("/health") && !head.uri.hasPrefix("/control") {
                service.requests.wrappingAdd(1, ordering: .relaxed)
            }
        case .body(let buffer):
            received += buffer.readableBytes
        case .end:
            guard let head else { return }
            respond(to: head)
        }
    }

    private func respond(to head: HTTPRequestHead) {
        guard let context else { return }
        let path = head.uri.prefix { $0 != "?" }
        let query = head.uri.split(separator: "?", maxSplits: 1).dropFirst().first ?? ""
        func parameter(_ name: String) -> Int? {
            query.split(separator: "&").first { $0.hasPrefix("\(name)=") }.flatMap { Int($0.dropFirst(name.count + 1)) }
        }
        if path == "/health" { return send(.ok, "ok\n", head) }
        if path == "/control/requests" { return send(.ok, "\(service.requests.load(ordering: .relaxed))\n", head) }
        if path == "/control/latency", let ms = parameter("ms") {
            service.latencyNanoseconds.store(Int64(ms) * 1_000_000, ordering: .relaxed)
            return send(.ok, "latency \(ms) ms\n", head)
        }
        let answer = { [self] in
            if Int(random.next() % 1_000_000) < service.failurePerMillion.load(ordering: .relaxed) {
                send(.serviceUnavailable, "\(service.name) failed on purpose\n", head)
            } else if path == "/download", let bytes = parameter("bytes") {
                startDownload(bytes, head)
            } else if path.hasPrefix("/status/"), let code = Int(path.dropFirst(8)) {
                send(HTTPResponseStatus(statusCode: code), "status \(code)\n", head)
            } else if path.hasPrefix("/echo") {
                send(.ok, echo(head), head, contentType: "application/json")
            } else if head.method == .POST || head.method == .PUT {
                send(.ok, "\(received)\n", head)
            } else {
                send(.ok, "ok from \(service.name)\n", head)
            }
        }
        let sampleService = service
        let loop = context.eventLoop
        let serve = NIOLoopBound(
            { [self] in
                // The slot is held from here until the answer is written (or the connection is gone).
                guard self.context?.channel.isActive == true else { return sampleService.slotFreed() }
                let latency = sampleService.latencyNanoseconds.load(ordering: .relaxed)
                if latency > 0 {
                    loop.assumeIsolated().scheduleTask(in: .nanoseconds(latency)) {
                        answer()
                        sampleService.slotFreed()
                    }
                } else {
                    answer()
                    sampleService.slotFreed()
                }
            }, eventLoop: loop)
        sampleService.whenSlotFree(on: loop) { serve.value() }
    }

    private func send(
        _ status: HTTPResponseStatus, _ body: String, _ request: HTTPRequestHead, contentType: String = "text/plain"
    ) {
        guard let context, context.channel.isActive else { return }
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: contentType)
        headers.add(name: "content-length", value: String(body.utf8.count))
        headers.add(name: "x-backend", value: service.name)
        if !request.isKeepAlive { headers.add(name: "connection", value: "close") }
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !request.isKeepAlive { done.assumeIsolated().whenComplete { _ in context.close(promise: nil) } }
    }

    private func echo(_ head: HTTPRequestHead) -> String {
        func quoted(_ text: String) -> String {
            "\"" + text.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"") + "\""
        }
        let headers = head.headers.map { "[\(quoted($0.name.lowercased())),\(quoted($0.value))]" }.joined(
            separator: ",")
        return
            #"{"backend":\#(quoted(service.name)),"method":\#(quoted(head.method.rawValue)),"uri":\#(quoted(head.uri)),"headers":[\#(headers)],"received":\#(received)}"#
    }

    private func startDownload(_ bytes: Int, _ request: HTTPRequestHead) {
        guard let context else { return }
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/octet-stream")
        headers.add(name: "content-length", value: String(bytes))
        headers.add(name: "x-backend", value: service.name)
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
        downloadLeft = bytes
        continueDownload()
    }

    private static let chunk = ByteBuffer(repeating: UInt8(ascii: "x"), count: 64 * 1024)

    /// Writes while the client can take it; resumes when it can again.
    private func continueDownload() {
        guard let context else { return }
        while downloadLeft > 0 && context.channel.isWritable {
            let size = min(downloadLeft, Self.chunk.readableBytes)
            downloadLeft -= size
            context.write(wrapOutboundOut(.body(.byteBuffer(Self.chunk.getSlice(at: 0, length: size)!))), promise: nil)
            if downloadLeft == 0 {
                context.write(wrapOutboundOut(.end(nil)), promise: nil)
            }
            context.flush()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable && downloadLeft > 0 { continueDownload() }
        context.fireChannelWritabilityChanged()
    }
}
