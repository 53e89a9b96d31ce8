import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// What `shoal demo` measured: per second, and in all, per instance.
final class DemoStats: Sendable {
    struct Window {
        var latencies: [Double] = []  // milliseconds
        var byInstance: [String: Int] = [:]
        var errors = 0
    }

    struct Totals {
        var latencies: [String: [Double]] = [:]
        var errors = 0
        /// Failures by status (0: the connection closed without an answer).
        var failures: [Int: Int] = [:]
        var requests = 0
    }

    private let window = Mutex(Window())
    private let totals = Mutex(Totals())

    /// One answer: its status, the instance that gave it and how long it took.
    func record(status: Int, instance: String?, milliseconds: Double) {
        let failed = status != 200
        window.withLock { window in
            window.latencies.append(milliseconds)
            if failed { window.errors += 1 } else if let instance { window.byInstance[instance, default: 0] += 1 }
        }
        totals.withLock { totals in
            totals.requests += 1
            if failed {
                totals.errors += 1
                totals.failures[status, default: 0] += 1
            } else if let instance {
                totals.latencies[instance, default: []].append(milliseconds)
            }
        }
    }

    /// The window since the last call, which starts a new one.
    func takeWindow() -> Window {
        window.withLock { window in
            defer { window = Window() }
            return window
        }
    }

    var all: Totals { totals.withLock { $0 } }
}

/// Clients sending GETs through the gateway on keep-alive connections, one request at a
/// time each, until cancelled.
enum DemoTraffic {
    static func run(clients: Int, port: Int, group: any EventLoopGroup, stats: DemoStats) async {
        await withTaskGroup(of: Void.self) { tasks in
            for _ in 0..<clients {
                tasks.addTask {
                    while !Task.isCancelled {
                        do {
                            try await client(port: port, group: group, stats: stats)
                        } catch {
                            // The gateway closed the connection: count it, connect again.
                            if !Task.isCancelled { stats.record(status: 0, instance: nil, milliseconds: 0) }
                        }
                    }
                }
            }
        }
    }

    private static func client(port: Int, group: any EventLoopGroup, stats: DemoStats) async throws {
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(
                        wrappingChannelSynchronously: channel)
                }
            }
        try await channel.executeThenClose { inbound, outbound in
            var responses = inbound.makeAsyncIterator()
            var headers = HTTPHeaders()
            headers.add(name: "host", value: "demo")
            while !Task.isCancelled {
                let start = ContinuousClock.now
                try await outbound.write(.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/", headers: headers)))
                try await outbound.write(.end(nil))
                var status = 0
                var instance: String?
                reading: while let part = try await responses.next() {
                    switch part {
                    case .head(let head):
                        status = Int(head.status.code)
                        instance = head.headers["x-backend"].first
                    case .body:
                        continue
                    case .end:
                        break reading
                    }
                }
                guard status != 0 else { throw ChannelError.eof }
                let took = ContinuousClock.now - start
                stats.record(status: status, instance: instance, milliseconds: took.seconds * 1000)
            }
        }
    }
}
