import ArgumentParser
import Foundation
import ShoalCore
import ShoalLock
import ShoalRedis

/// `shoal bench lock`: acquire-and-release cycles against a real Redis.
struct BenchLockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lock",
        abstract: "Measure RedisLock: clients taking turns on one lock name against a real Redis.",
        discussion: """
            Each client has a RedisLock of its own (its own connections and subscriber, as a \
            separate process would) and loops: acquire (waiting in line), hold for --hold \
            (sleeping, then spinning the last 200 µs, so it is exactly that long), release. Prints cycles per second, each client's share \
            (min/max of cycles per client) and the time spent waiting to acquire. Each client \
            first does one untimed cycle to open its connections.
            """
    )

    @OptionGroup var redisOptions: RedisOptions

    @OptionGroup var etcdOptions: EtcdOptions

    @Flag(
        help:
            "With --etcd: measure etcd's own rate for one transaction instead (each cycle one write transaction on a key of the client's), the reference for lock cycles."
    )
    var rawTransactions = false

    @Option(help: "Clients contending for the lock.")
    var clients: Int = 1

    @Option(help: "How long each holder keeps the lock (sleeping, then spinning the last 200 µs), e.g. 1ms.")
    var hold: String = "0ms"

    @Option(help: "How long to measure.")
    var duration: String = "5s"

    @Option(help: "The lock's name.")
    var name: String = "shoal-bench"

    @Option(help: "Where the clients' tasks run: event-loop (their pool's loop, no thread hops) or global.")
    var executor: String = "event-loop"

    @Option(help: "Grant the lock only once this many replicas have it (Redis WAIT); 0 grants at once.")
    var replicas = 0

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() async throws {
        if let etcd = try etcdOptions.configurationIfGiven() {
            guard redisOptions.redis == nil else { throw UsageError("--etcd and --redis cannot be used together") }
            try await runOnEtcd(etcd)
            return
        }
        let configuration = try redisOptions.configuration()
        guard (1...256).contains(clients) else { throw UsageError("--clients must be in 1...256, not \(clients)") }
        let hold = try DurationParsing.parse(hold, flag: "--hold")
        let duration = try DurationParsing.parse(duration, flag: "--duration")
        guard duration > .zero else { throw UsageError("--duration must be positive") }
        guard ["event-loop", "global"].contains(executor) else {
            throw UsageError("--executor must be event-loop or global, not '\(executor)'")
        }
        let onEventLoop = executor == "event-loop"
        let clock = SystemClock()
        guard replicas >= 0 else { throw UsageError("--replicas must not be negative, not \(replicas)") }
        let services = (0..<clients).map { _ in
            RedisLock(configuration: configuration, clock: clock, minimumReplicas: replicas)
        }
        do {
            for locks in services {  // open connections and subscriptions before timing
                let lease = try await locks.acquire(name, ttl: .seconds(10), wait: .seconds(30))
                _ = try await locks.release(lease)
            }
        } catch {
            throw ExitRequest(code: ExitStatus.unavailable, message: "\(error)")
        }
        let name = name
        let start = clock.now()
        let end = start + duration
        let results = try await withThrowingTaskGroup(of: ClientResult.self) { group in
            for locks in services {
                group.addTask(executorPreference: onEventLoop ? locks.pool.taskExecutor : globalConcurrentExecutor) {
                    var result = ClientResult()
                    while clock.now() < end {
                        let asked = clock.now()
                        let lease = try await locks.acquire(name, ttl: .seconds(10), wait: .seconds(30))
                        result.waits.append(clock.now() - asked)
                        if hold > .zero { try await Self.hold(for: hold, clock: clock) }
                        _ = try await locks.release(lease)
                        result.cycles += 1
                    }
                    return result
                }
            }
            var all: [ClientResult] = []
            for try await result in group { all.append(result) }
            return all
        }
        let elapsed = clock.now() - start
        for locks in services { await locks.close() }
        let report = BenchLockReport(clients: results, elapsed: elapsed, hold: hold)
        var output = StandardOutput()
        try output.append(json ? report.json : report.text)
        try output.flush()
    }
}

extension BenchLockCommand {
    /// Holds for exactly `duration`, like a critical section that mostly waits on I/O: sleeps
    /// until 200 µs before the end (a sleep overshoots by tens of µs; sleeping leaves the
    /// thread to the other clients), then spins to the end.
    static func hold(for duration: Duration, clock: SystemClock) async throws {
        let until = clock.now() + duration
        let spin = Duration.microseconds(200)
        if duration > spin { try await Task.sleep(for: duration - spin) }
        while clock.now() < until {}
    }
}

/// One client's cycles and acquire waits.
struct ClientResult: Sendable {
    var cycles = 0
    var waits: [Duration] = []
}

/// What `shoal bench lock` prints.
struct BenchLockReport {
    let cyclesPerSecond: Double
    let share: Double
    let perClient: [Int]
    let waitP50: Double
    let waitP99: Double
    let waitMax: Double
    let hold: Duration

    init(clients: [ClientResult], elapsed: Duration, hold: Duration) {
        perClient = clients.map(\.cycles)
        let total = perClient.reduce(0, +)
        cyclesPerSecond = Double(total) / max(elapsed.nanosecondsDouble / 1e9, 1e-9)
        share = Double(perClient.min() ?? 0) / Double(max(perClient.max() ?? 1, 1))
        let waits = clients.flatMap(\.waits).map { $0.nanosecondsDouble / 1e6 }.sorted()
        waitP50 = nearestRankQuantile(waits, 0.5)
        waitP99 = nearestRankQuantile(waits, 0.99)
        waitMax = waits.last ?? 0
        self.hold = hold
    }

    var text: String {
        """
        clients            \(perClient.count)
        hold               \(hold)
        cycles/s           \(String(format: "%.0f", cyclesPerSecond))
        per-client cycles  \(perClient.map(String.init).joined(separator: " "))
        min/max share      \(String(format: "%.3f", share))
        acquire wait ms    p50 \(String(format: "%.3f", waitP50))  p99 \(String(format: "%.3f", waitP99))  max \(String(format: "%.3f", waitMax))

        """
    }

    var json: String {
        let counts = perClient.map(String.init).joined(separator: ",")
        return """
            {"clients":\(perClient.count),"cycles_per_second":\(cyclesPerSecond),"per_client":[\(counts)],\
            "share":\(share),"wait_ms":{"p50":\(waitP50),"p99":\(waitP99),"max":\(waitMax)}}

            """
    }
}
