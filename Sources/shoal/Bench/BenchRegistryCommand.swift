import ArgumentParser
import Foundation
import ShoalCore
import ShoalDiscovery
import ShoalRESP
import ShoalRedis

/// `shoal bench registry`: registrations, renewals and change notification against Redis.
struct BenchRegistryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "registry",
        abstract: "Measure RedisRegistry: registrations/s, renewals/s, notification latency, memory.",
        discussion: """
            Registers --instances instances (16 at a time) through one RedisRegistry, renews \
            them all, and reads Redis's used_memory before and after. Then a watcher on a \
            second RedisRegistry (its own connections and subscriber, as another process \
            would have) times --changes changes made through the first: from the start of \
            the change to the watcher's snapshot.
            """
    )

    @OptionGroup var redisOptions: RedisOptions

    @Option(help: "Instances to register and renew.")
    var instances: Int = 10_000

    @Option(help: "Changes to time for notification latency.")
    var changes: Int = 500

    @Flag(help: "Print one JSON object.")
    var json = false

    /// Milliseconds from each change on `writer` to the snapshot that shows it on `reader`.
    private func watchLatencies(writer: RedisRegistry, reader: RedisRegistry, clock: SystemClock) async throws
        -> [Double]
    {
        var latencies: [Double] = []
        var snapshots = reader.subscribe("bench-watched").makeAsyncIterator()
        _ = await snapshots.next()
        for change in 0..<changes {
            let started = clock.now()
            var instance = try Self.instance(0, service: "bench-watched")
            instance.port = 1 + change % 60_000
            _ = try await writer.register(instance, ttl: .seconds(600))
            _ = await snapshots.next()
            latencies.append((clock.now() - started).nanosecondsDouble / 1e6)
        }
        return latencies
    }

    func run() async throws {
        let configuration = try redisOptions.configuration()
        guard (1...1_000_000).contains(instances), (1...100_000).contains(changes) else {
            throw UsageError("--instances must be in 1...1000000 and --changes in 1...100000")
        }
        let writer = RedisRegistry(configuration: configuration, keyPrefix: "shoal:bench-registry:")
        let reader = RedisRegistry(configuration: configuration, keyPrefix: "shoal:bench-registry:")
        let memoryBefore = try await usedMemory(writer)
        let clock = SystemClock()
        let count = instances
        let registered = try await timed(clock) {
            try await forEachConcurrently(0..<count) { index in
                _ = try await writer.register(try Self.instance(index), ttl: .seconds(600))
            }
        }
        let memoryAfter = try await usedMemory(writer)
        let renewed = try await timed(clock) {
            try await forEachConcurrently(0..<count) { index in
                _ = try await writer.renew(service: "bench-\(index % 100)", id: "i\(index)")
            }
        }
        // The reader runs (its listener and lookups) while the changes are timed.
        var latencies = try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await reader.run() }
            defer { group.cancelAll() }
            return try await watchLatencies(writer: writer, reader: reader, clock: clock)
        }
        latencies.sort()
        for index in 0..<count { _ = try? await writer.deregister(service: "bench-\(index % 100)", id: "i\(index)") }
        _ = try? await writer.deregister(service: "bench-watched", id: "i0")
        await writer.close()
        let report = BenchRegistryReport(
            instances: count, registrationsPerSecond: Double(count) / registered,
            renewalsPerSecond: Double(count) / renewed,
            bytesPerInstance: Double(memoryAfter - memoryBefore) / Double(count),
            p50: latencies[latencies.count / 2], p99: latencies[min(latencies.count - 1, latencies.count * 99 / 100)],
            max: latencies.last ?? 0)
        var output = StandardOutput()
        try output.append(json ? report.json : report.text)
        try output.flush()
    }

    static func instance(_ index: Int, service: String? = nil) throws -> ServiceInstance {
        try ServiceInstance(
            service: service ?? "bench-\(index % 100)", id: "i\(index)",
            address: "10.0.\(index / 250 % 250).\(index % 250)",
            port: 8080, zone: "zone-\(index % 3)", metadata: ["version": "1.0.\(index % 10)"])
    }

    private func usedMemory(_ registry: RedisRegistry) async throws -> Int {
        let info = try await registry.pool.send(RESPCommand("INFO", "memory")).string ?? ""
        let line = info.split(separator: "\r\n").first { $0.hasPrefix("used_memory:") }
        return line.flatMap { Int($0.dropFirst("used_memory:".count)) } ?? 0
    }

    private func timed(_ clock: SystemClock, _ body: () async throws -> Void) async throws -> Double {
        let started = clock.now()
        try await body()
        return (clock.now() - started).nanosecondsDouble / 1e9
    }
}

/// Runs `body` for every element, 16 at a time.
func forEachConcurrently(
    _ range: Range<Int>, _ body: @escaping @Sendable (Int) async throws -> Void
) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        var next = range.lowerBound
        for _ in 0..<16 where next < range.upperBound {
            let index = next
            group.addTask { try await body(index) }
            next += 1
        }
        while try await group.next() != nil {
            if next < range.upperBound {
                let index = next
                group.addTask { try await body(index) }
                next += 1
            }
        }
    }
}

/// What `shoal bench registry` prints.
struct BenchRegistryReport {
    let instances: Int
    let registrationsPerSecond: Double
    let renewalsPerSecond: Double
    let bytesPerInstance: Double
    let p50: Double
    let p99: Double
    let max: Double

    var text: String {
        """
        instances                  \(instances)
        registrations/s            \(String(format: "%.0f", registrationsPerSecond))
        renewals/s                 \(String(format: "%.0f", renewalsPerSecond))
        Redis memory per instance  \(String(format: "%.0f", bytesPerInstance)) bytes
        notification latency ms    p50 \(String(format: "%.3f", p50))  p99 \(String(format: "%.3f", p99))  max \(String(format: "%.3f", max))

        """
    }

    var json: String {
        """
        {"instances":\(instances),"registrations_per_second":\(registrationsPerSecond),\
        "renewals_per_second":\(renewalsPerSecond),"redis_bytes_per_instance":\(bytesPerInstance),\
        "notification_ms":{"p50":\(p50),"p99":\(p99),"max":\(max)}}

        """
    }
}
