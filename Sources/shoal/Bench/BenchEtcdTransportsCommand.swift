import ArgumentParser
import Foundation
import ShoalCore
import ShoalEtcd

#if canImport(Glibc)
    import Glibc
#endif

/// `shoal bench etcd-transports`: the two ways to reach etcd's v3 API, side by side.
struct BenchEtcdTransportsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "etcd-transports",
        abstract: "Measure etcd's v3 API over gRPC (what ShoalEtcd uses) and over its HTTP/JSON gateway.",
        discussion: """
            One client, one request at a time, against the first --etcd member (plain http://). \
            Over gRPC: ShoalEtcd's client (grpc-swift-2, HTTP/2). Over the gateway: \
            AsyncHTTPClient (HTTP/1.1, kept-alive connections) sending the same requests as \
            JSON (swift-protobuf's JSON mapping, which etcd's gateway reads). For each:
            - a lock cycle's two writes: the transaction that joins the line (put the key on a \
            lease unless it exists, read who is first), then the one that releases (delete the \
            key if its create revision is the one made); cycles per second, latency, and this \
            process's CPU time per cycle;
            - watch latency: from sending a put to a watch, open on its own stream or \
            connection, reading the event.
            """
    )

    @OptionGroup var etcdOptions: EtcdOptions

    @Option(help: "How long to run lock cycles on each transport.")
    var duration: String = "3s"

    @Option(help: "Watch-latency samples on each transport.")
    var samples: Int = 200

    @Option(help: "The etcd member's process id, to report its CPU time per lock cycle too (Linux).")
    var etcdPid: Int32?

    func run() async throws {
        guard var configuration = try etcdOptions.configurationIfGiven() else {
            throw UsageError("name an etcd member with --etcd http://HOST:2379")
        }
        configuration.endpoints = Array(configuration.endpoints.prefix(1))
        guard let endpoint = configuration.endpoints.first, !endpoint.secure, configuration.username == nil else {
            throw UsageError("etcd-transports measures a plain http:// member without a user")
        }
        let duration = try DurationParsing.parse(duration, flag: "--duration")
        guard duration > .zero else { throw UsageError("--duration must be positive") }
        guard (10...100_000).contains(samples) else { throw UsageError("--samples must be in 10...100000") }
        let samples = samples
        let gateway = EtcdGatewayClient(base: "http://\(endpoint.host):\(endpoint.port)")
        let figures: [TransportFigures]
        do {
            let chosen = configuration
            let server = etcdPid
            figures = try await Self.offTheMainActor {
                try await Self.measure(chosen, gateway, duration, samples, server: server)
            }
        } catch {
            try? await gateway.shutdown()
            throw error
        }
        try await gateway.shutdown()
        var output = StandardOutput()
        try output.append(TransportFigures.table(figures))
        try output.flush()
    }

    /// Runs `body` in a child task, on the global executor as a service's tasks would, not on
    /// the command's main actor (every hop to the main thread would count against the
    /// transport).
    static func offTheMainActor<Result: Sendable>(
        _ body: @escaping @Sendable () async throws -> Result
    ) async throws -> Result {
        try await withThrowingTaskGroup(of: Result.self) { group in
            group.addTask { try await body() }
            return try await group.next()!
        }
    }

    static func measure(
        _ configuration: EtcdConfiguration, _ gateway: EtcdGatewayClient, _ duration: Duration, _ samples: Int,
        server: Int32?
    ) async throws -> [TransportFigures] {
        try await EtcdClient.withClient(configuration) { etcd in
            let lease = try await etcd.grantLease(ttl: 600).id
            let grpc = TransportFigures(
                name: "gRPC (grpc-swift-2)",
                cycles: try await Self.lockCycles(for: duration, lease: lease, transport: "grpc", server: server) {
                    try await etcd.txn($0, idempotent: true)
                },
                watchLatencies: try await Self.watchLatencies(samples: samples, transport: "grpc") {
                    prefix, revision, seen in
                    try await etcd.watch(prefix: prefix, from: revision) { events, _ in
                        for _ in events { seen() }
                        return .continue
                    }
                } put: {
                    try await etcd.put($0, "x")
                })
            let json = TransportFigures(
                name: "JSON gateway (AsyncHTTPClient)",
                cycles: try await Self.lockCycles(for: duration, lease: lease, transport: "json", server: server) {
                    try await gateway.txn($0)
                },
                watchLatencies: try await Self.watchLatencies(samples: samples, transport: "json") {
                    prefix, revision, seen in
                    try await gateway.watch(prefix: prefix, from: revision, seen: seen)
                } put: {
                    try await gateway.put($0, "x")
                })
            return [grpc, json]
        }
    }

    /// Lock cycles, one after another, for `duration`.
    static func lockCycles(
        for duration: Duration, lease: Int64, transport: String, server: Int32?,
        _ txn: (Etcdserverpb_TxnRequest) async throws -> Etcdserverpb_TxnResponse
    ) async throws -> CycleFigures {
        let folder = Data("shoal-bench/transports/\(transport)/".utf8)
        let key = folder + Data(String(lease, radix: 16).utf8)
        func cycle() async throws {
            let joined = try await txn(EtcdRequests.joinLine(key, lease: lease, folder: folder))
            guard joined.succeeded, joined.responses.count == 2 else {
                throw RuntimeFailure("etcd-transports: the lock's key was there before the cycle")
            }
            guard try await txn(EtcdRequests.release(key, madeAt: joined.header.revision)).succeeded else {
                throw RuntimeFailure("etcd-transports: the release found the key changed")
            }
        }
        try await cycle()  // opens the connection
        let clock = ContinuousClock()
        var times: [Duration] = []
        let cpuBefore = Self.processCPUTime()
        let serverBefore = server.flatMap(Self.cpuTime(of:))
        let start = clock.now
        while clock.now - start < duration {
            let began = clock.now
            try await cycle()
            times.append(clock.now - began)
        }
        let serverCPU = serverBefore.flatMap { before in server.flatMap(Self.cpuTime(of:)).map { $0 - before } }
        return CycleFigures(
            times: times, elapsed: clock.now - start, cpu: Self.processCPUTime() - cpuBefore, serverCPU: serverCPU)
    }

    /// Puts keys one after another under a watched prefix: each sample is the time from
    /// sending a put to the watch reading its event.
    static func watchLatencies(
        samples: Int, transport: String,
        watch:
            @escaping @Sendable (_ prefix: String, _ from: Int64, _ seen: @escaping @Sendable () -> Void) async throws
            ->
            Void,
        put: @escaping @Sendable (String) async throws -> Int64
    ) async throws -> [Duration] {
        let prefix = "shoal-bench/transports/watch-\(transport)/"
        // From the revision after this put: a put made before the watch is open still reaches it.
        let from = try await put(prefix + "start") + 1
        let (events, seen) = AsyncStream<Void>.makeStream()
        return try await withThrowingTaskGroup(of: [Duration]?.self) { group in
            group.addTask {
                try await watch(prefix, from) { seen.yield() }
                return nil
            }
            group.addTask {
                var arrivals = events.makeAsyncIterator()
                _ = try await put(prefix + "warm-up")
                _ = await arrivals.next()
                let clock = ContinuousClock()
                var times: [Duration] = []
                for index in 0..<samples {
                    let began = clock.now
                    _ = try await put(prefix + "\(index % 16)")
                    guard await arrivals.next() != nil else { throw RuntimeFailure("etcd-transports: the watch ended") }
                    times.append(clock.now - began)
                    try await Task.sleep(for: .milliseconds(2))
                }
                return times
            }
            defer { group.cancelAll() }
            while let result = try await group.next() {
                if let times = result { return times }
            }
            throw RuntimeFailure("etcd-transports: the watch ended")
        }
    }

    /// CPU time process `pid` has used, user and system, from `/proc/PID/stat`.
    static func cpuTime(of pid: Int32) -> Duration? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let end = stat.lastIndex(of: ")")
        else { return nil }
        // After the command's name come fields 3 on; user and system time are fields 14 and 15.
        let fields = stat[stat.index(after: end)...].split(separator: " ")
        guard fields.count > 13, let user = Int64(fields[11]), let system = Int64(fields[12]) else { return nil }
        let ticks = Int64(sysconf(Int32(_SC_CLK_TCK)))
        return .milliseconds((user + system) * 1000 / max(ticks, 1))
    }

    /// CPU time this process has used, user and system.
    static func processCPUTime() -> Duration {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return .seconds(time.tv_sec) + .nanoseconds(time.tv_nsec)
    }
}

/// One transport's figures.
struct TransportFigures {
    let name: String
    let cycles: CycleFigures
    let watchLatencies: [Duration]

    static func table(_ figures: [TransportFigures]) -> String {
        func ms(_ duration: Duration) -> Double { duration.seconds * 1000 }
        var lines = [
            "transport                         cycles/s  p50 ms  p99 ms  CPU µs/cycle  etcd CPU µs/cycle  watch p50 ms  watch p99 ms"
        ]
        for figure in figures {
            let times = figure.cycles.times.map(ms).sorted()
            let watch = figure.watchLatencies.map(ms).sorted()
            let rate = Double(times.count) / (ms(figure.cycles.elapsed) / 1000)
            let cpu = ms(figure.cycles.cpu) * 1000 / Double(max(times.count, 1))
            let server = figure.cycles.serverCPU.map { ms($0) * 1000 / Double(max(times.count, 1)) }
            let serverText = server.map { String(format: "%.0f", $0) } ?? "-"

            lines.append(
                figure.name.padding(toLength: 32, withPad: " ", startingAt: 0)
                    + String(
                        format: " %9.0f  %6.2f  %6.2f  %12.0f  ", rate, nearestRankQuantile(times, 0.5),
                        nearestRankQuantile(times, 0.99), cpu)
                    + String(repeating: " ", count: max(0, 17 - serverText.count)) + serverText
                    + String(
                        format: "  %12.2f  %12.2f", nearestRankQuantile(watch, 0.5), nearestRankQuantile(watch, 0.99)))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Lock cycles' times, how long they ran, and the process's CPU time meanwhile.
struct CycleFigures {
    let times: [Duration]
    let elapsed: Duration
    let cpu: Duration
    /// The etcd member's CPU time meanwhile, when its process id was given.
    let serverCPU: Duration?
}
