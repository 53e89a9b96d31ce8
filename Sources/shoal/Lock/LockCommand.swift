import ArgumentParser
import Dispatch
import Foundation
import ShoalLock
import ShoalRedis

/// `shoal lock`: a distributed `flock(1)` on Redis.
struct LockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lock",
        abstract: "Run a command while holding a lock on Redis, renewing it until the command exits.",
        usage: """
            shoal lock --redis redis://HOST:PORT[/DB] --name NAME [--ttl 10s] [--wait 30s | --no-wait] -- COMMAND [ARGS…]
            """,
        discussion: """
            The command gets SHOAL_LOCK_NAME and SHOAL_LOCK_FENCING_TOKEN (strictly \
            increasing per name) in its environment. The lease is renewed every third of \
            --ttl. If it is lost while the command runs (Redis refused a renewal, or --ttl \
            passed without a confirmed one, say because this process was paused), the \
            command gets SIGTERM, then SIGKILL after --grace, and shoal says why and exits \
            76. SIGTERM, SIGINT and SIGHUP sent to shoal are passed on to the command; \
            while waiting for the lock, they end the wait (leaving the line) and shoal exits \
            128 + the signal. \
            SHOAL_REDIS_URL stands in for --redis.

            Exit codes: the command's own (128 + N if signal N ended it) after it ran with \
            the lock held; 75 the lock was not free within --wait, or at once with \
            --no-wait; 76 the lock was lost while the command ran; 69 Redis could not be \
            reached; 127 the command could not be started; 2 bad usage.
            """
    )

    @OptionGroup var redisOptions: RedisOptions

    @Option(help: "The lock's name; every process using the same name and server excludes the others.")
    var name: String

    @Option(help: "How long the lock outlives this process if it stops renewing (e.g. 500ms, 10s, 1m).")
    var ttl: String = "10s"

    @Option(help: "How long to wait in line for the lock. Default 30s.")
    var wait: String?

    @Flag(name: .customLong("no-wait"), help: "Exit 75 at once if the lock is held.")
    var noWait = false

    @Option(help: "After a lost lock, how long the command has between SIGTERM and SIGKILL.")
    var grace: String = "10s"

    @Argument(parsing: .postTerminator, help: "The command to run, after --.")
    var command: [String] = []

    func run() async throws {
        let settings = try validated()
        let locks = RedisLock(configuration: settings.redis)
        let route = SignalRoute()
        let trap = SignalTrap(route)
        defer { trap.stop() }
        let name = name
        let acquiring = Task { try await Self.acquire(name, with: locks, settings) }
        route.route { _ in acquiring.cancel() }
        let lease: LockLease
        do {
            lease = try await acquiring.value
        } catch is CancellationError {
            let signal = route.received ?? SIGTERM
            throw ExitRequest(code: 128 + signal, message: "interrupted while waiting for lock '\(name)'")
        }
        if let signal = route.received {  // came as the lock was taken
            _ = try? await locks.release(lease)
            throw ExitRequest(code: 128 + signal, message: "interrupted before running the command")
        }
        let child: ChildCommand
        do {
            child = try ChildCommand.start(
                command,
                environment: ["SHOAL_LOCK_NAME": name, "SHOAL_LOCK_FENCING_TOKEN": String(lease.fencingToken)])
        } catch {
            _ = try? await locks.release(lease)
            throw ExitRequest(code: ExitStatus.cannotRun, message: error.description)
        }
        if let early = route.route(to: { child.signal($0) }) { child.signal(early) }
        let grace = settings.grace
        do {
            let code = try await locks.hold(lease) { _ in
                await withTaskCancellationHandler {
                    await child.exitCode()
                } onCancel: {
                    child.signal(SIGTERM)
                    Task {
                        try? await Task.sleep(for: grace)
                        child.signal(SIGKILL)
                    }
                }
            }
            await locks.close()
            throw ExitRequest(code: code, message: nil)
        } catch let lost as LockLost {
            throw ExitRequest(
                code: ExitStatus.lockLost,
                message: "\(lost); stopped '\(child.name)' (pid \(child.pid)) with SIGTERM")
        }
    }

    /// Takes the lock as the flags say, mapping failures to exit codes.
    private static func acquire(_ name: String, with locks: RedisLock, _ settings: Settings) async throws -> LockLease {
        do {
            guard let wait = settings.wait else {
                guard let taken = try await locks.tryAcquire(name, ttl: settings.ttl) else {
                    throw ExitRequest(code: ExitStatus.notAcquired, message: "lock '\(name)' is held (--no-wait)")
                }
                return taken
            }
            return try await locks.acquire(name, ttl: settings.ttl, wait: wait)
        } catch let error as LockError where error.code == .notAcquired {
            throw ExitRequest(code: ExitStatus.notAcquired, message: error.message)
        } catch let error as LockError where error.code == .backendFailure {
            throw ExitRequest(code: ExitStatus.unavailable, message: error.message)
        }
    }

    private struct Settings {
        let redis: RedisConfiguration
        let ttl: Duration
        let wait: Duration?
        let grace: Duration
    }

    private func validated() throws(UsageError) -> Settings {
        guard !name.isEmpty else { throw UsageError("--name must not be empty") }
        guard !command.isEmpty else { throw UsageError("give the command to run after --, e.g. -- ./backup.sh") }
        let configuration = try redisOptions.configuration()
        let ttl = try DurationParsing.parse(ttl, flag: "--ttl")
        guard ttl >= .milliseconds(100) else { throw UsageError("--ttl must be at least 100ms, not \(self.ttl)") }
        if noWait && wait != nil { throw UsageError("--wait and --no-wait cannot be used together") }
        let wait = noWait ? nil : try DurationParsing.parse(wait ?? "30s", flag: "--wait")
        let grace = try DurationParsing.parse(grace, flag: "--grace")
        return Settings(redis: configuration, ttl: ttl, wait: wait, grace: grace)
    }
}
