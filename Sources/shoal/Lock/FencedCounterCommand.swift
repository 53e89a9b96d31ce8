import ArgumentParser
import Foundation
import ShoalCore
import ShoalLock
import ShoalRedis

/// `shoal fenced-counter`: takes a lock in turns and, holding it, adds one to a counter on
/// another Redis with a fenced read and a fenced write. The failover tests run it on several
/// hosts at once and audit what the counter's Redis accepted.
struct FencedCounterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fenced-counter",
        abstract: "Take a lock in turns and add one to a counter with fenced reads and writes.",
        discussion: """
            Each turn takes --name on the lock's Redis (--redis), reads --key on the \
            resource's Redis (--resource) with the lease's fencing token, waits --write-delay, \
            writes the value plus one with the token, and releases. The resource refuses a \
            token lower than one it has seen. Prints one JSON line per turn: the token, the \
            value read, whether the write was accepted, and when the lock was granted \
            (milliseconds since the epoch); a turn that failed prints its error and the next \
            one starts after a short pause. Stops after --turns turns or --duration.
            """,
        shouldDisplay: false
    )

    @OptionGroup var redisOptions: RedisOptions

    @Option(help: "The resource's Redis, redis://HOST:PORT: where the counter and its fence are kept.")
    var resource: String

    @Option(help: "The lock's name.")
    var name = "counter"

    @Option(help: "The counter's key on the resource.")
    var key = "counter"

    @Option(help: "How many turns to take.")
    var turns = 100

    @Option(help: "Stop after this long, even with turns left (e.g. 20s).")
    var duration: String?

    @Option(help: "The lock's time-to-live.")
    var ttl = "2s"

    @Option(help: "How long to wait for the lock each turn.")
    var wait = "30s"

    @Option(help: "The pause between the read and the write, holding the lock.")
    var writeDelay = "0ms"

    /// One line of output.
    struct Turn: Codable {
        var turn: Int
        var token: UInt64?
        var read: Int?
        /// `written`, `rejected` (the write, or the read, met a higher token) or `failed`.
        var outcome: String
        var grantedAt: Int64?
        var error: String?
    }

    func run() async throws {
        let lockConfiguration = try redisOptions.configuration()
        let resourceConfiguration: RedisConfiguration
        do {
            resourceConfiguration = try RedisConfiguration(url: resource)
        } catch {
            throw UsageError("--resource: \(error.message)")
        }
        guard turns > 0 else { throw UsageError("--turns must be at least 1, not \(turns)") }
        let ttl = try DurationParsing.parse(ttl, flag: "--ttl")
        let wait = try DurationParsing.parse(wait, flag: "--wait")
        let writeDelay = try DurationParsing.parse(writeDelay, flag: "--write-delay")
        let stopAfter = try duration.map { text throws(UsageError) in try DurationParsing.parse(text, flag: "--duration") }
        let clock = SystemClock()
        let locks = RedisLock(configuration: lockConfiguration)
        try await locks.running {
            try await Self.takeTurns(
                turns, locks: locks, resource: resourceConfiguration, key: key, name: name, ttl: ttl, wait: wait,
                writeDelay: writeDelay, stopAt: stopAfter.map { clock.now() + $0 }, clock: clock)
        }
        await locks.close()
    }

    private static func takeTurns(
        _ turns: Int, locks: RedisLock, resource resourceConfiguration: RedisConfiguration, key: String, name: String,
        ttl: Duration, wait: Duration, writeDelay: Duration, stopAt: MonotonicInstant?, clock: SystemClock
    ) async throws {
        let wallClock = SystemWallClock()
        var resourceConnection: RedisConnection?
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        for turn in 0..<turns {
            if let stopAt, clock.now() >= stopAt { break }
            var line = Turn(turn: turn, outcome: "failed")
            do {
                let connection: RedisConnection
                if let open = resourceConnection, open.isConnected {
                    connection = open
                } else {
                    connection = try await RedisConnection.connect(resourceConfiguration)
                    resourceConnection = connection
                }
                let lease = try await locks.acquire(name, ttl: ttl, wait: wait)
                line.grantedAt = wallClock.millisecondsSinceEpoch()
                line.token = lease.fencingToken
                try await increment(
                    key, by: FencedRedisWrites(connection: connection), lease: lease, writeDelay: writeDelay, &line)
                _ = try? await locks.release(lease)
            } catch {
                line.error = "\(error)"
                try? await Task.sleep(for: .milliseconds(50))
            }
            if let data = try? encoder.encode(line) {
                FileHandle.standardOutput.write(data + [UInt8(ascii: "\n")])  // unbuffered: a test reads it as it comes
            }
        }
        await resourceConnection?.close()
    }

    /// The fenced read-modify-write of one turn.
    private static func increment(
        _ key: String, by writes: FencedRedisWrites, lease: LockLease, writeDelay: Duration, _ line: inout Turn
    ) async throws {
        guard case .value(let text) = try await writes.get(key, fencingToken: lease.fencingToken) else {
            line.outcome = "rejected"
            return
        }
        let value = text.flatMap(Int.init) ?? 0
        line.read = value
        if writeDelay > .zero { try await Task.sleep(for: writeDelay) }
        switch try await writes.set(key, to: String(value + 1), fencingToken: lease.fencingToken) {
        case .written: line.outcome = "written"
        case .rejected: line.outcome = "rejected"
        }
    }
}
