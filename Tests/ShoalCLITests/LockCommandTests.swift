import Foundation
import ShoalCore
import ShoalLock
import ShoalRedis
import ShoalTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A scratch directory for one test's files.
func scratchDirectory() throws -> URL {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-lock-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return directory
}

/// `shoal lock` started in the background, its standard error kept in a file.
struct BackgroundShoal {
    let process: SpawnedProcess
    let stderrPath: String

    init(
        _ arguments: [String], in directory: URL, environment: [String: String] = [:],
        standardOutput: String = "/dev/null"
    ) throws {
        stderrPath = directory.appendingPathComponent("shoal-\(UUID().uuidString).err").path
        process = try SpawnedProcess.spawn(
            ShoalProcess.binary.path, arguments, standardOutput: standardOutput, standardError: stderrPath,
            environment: environment)
    }

    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }
}

@Suite("shoal lock against a real redis-server", .serialized)
struct LockCommandTests {
    @Test("runs the command with the lock's name and fencing token, exits with its code, releases")
    func runsCommand() async throws {
        let redis = try RedisServer.start()
        let result = try await ShoalProcess.run([
            "lock", "--redis", redis.url, "--name", "backup", "--",
            "sh", "-c", "echo \"$SHOAL_LOCK_NAME $SHOAL_LOCK_FENCING_TOKEN\"; exit 3",
        ])
        #expect(result.status == 3)
        let words = result.output.split(separator: " ")
        #expect(words.first == "backup")
        #expect(UInt64(words.last?.trimmingCharacters(in: .newlines) ?? "") != nil)
        #expect(try redis.keys() == ["shoal:lock:backup:fence"])
        // The next holder's token is higher.
        let next = try await ShoalProcess.run([
            "lock", "--redis", redis.url, "--name", "backup", "--", "sh", "-c", "echo $SHOAL_LOCK_FENCING_TOKEN",
        ])
        #expect(next.status == 0)
        let first = UInt64(words.last?.trimmingCharacters(in: .newlines) ?? "") ?? .max
        #expect(UInt64(next.output.trimmingCharacters(in: .newlines)).map { $0 > first } == true)
    }

    @Test("held: --no-wait and a --wait that runs out exit 75; Redis away exits 69; no such command 127")
    func exitCodes() async throws {
        let redis = try RedisServer.start()
        let locks = RedisLock(configuration: redis.configuration)
        let held = try #require(try await locks.tryAcquire("busy", ttl: .seconds(30)))
        let noWait = try await ShoalProcess.run([
            "lock", "--redis", redis.url, "--name", "busy", "--no-wait", "--", "true",
        ])
        #expect(noWait.status == 75)
        #expect(noWait.stderr == "shoal: lock 'busy' is held (--no-wait)\n")
        let waited = try await ShoalProcess.run([
            "lock", "--redis", redis.url, "--name", "busy", "--wait", "300ms", "--", "true",
        ])
        #expect(waited.status == 75)
        #expect(waited.stderr.contains("was not free within"))
        _ = try await locks.release(held)
        let missing = try await ShoalProcess.run([
            "lock", "--redis", redis.url, "--name", "busy", "--", "/no/such/command",
        ])
        #expect(missing.status == 127)
        #expect(missing.stderr == "shoal: cannot run '/no/such/command': No such file or directory\n")
        await locks.close()
        #expect(try redis.keys() == ["shoal:lock:busy:fence"])
        redis.stop()
        let away = try await ShoalProcess.run(["lock", "--redis", redis.url, "--name", "busy", "--", "true"])
        #expect(away.status == 69)
        #expect(away.stderr.contains("connection refused to 127.0.0.1:\(redis.port)"))
    }

    @Test(
        "bad arguments exit 2 with one line naming the argument",
        arguments: [
            (["--name", "x", "--", "true"], "--redis is missing"),
            (["--redis", "http://h", "--name", "x", "--", "true"], "must start with redis://"),
            (["--redis", "redis://h:99999", "--name", "x", "--", "true"], "the port '99999'"),
            (["--redis", "redis://h", "--name", "x", "--ttl", "ten", "--", "true"], "--ttl must be a duration"),
            (["--redis", "redis://h", "--name", "x", "--ttl", "10ms", "--", "true"], "--ttl must be at least 100ms"),
            (
                ["--redis", "redis://h", "--name", "x", "--wait", "1s", "--no-wait", "--", "true"],
                "cannot be used together"
            ),
            (["--redis", "redis://h", "--name", "x"], "give the command to run after --"),
            (["--redis", "redis://h", "--", "true"], "--name"),
            (
                ["--redis", "redis://h", "--redis-ca", "/etc/hosts", "--name", "x", "--", "true"],
                "needs a rediss:// (or rediss-sentinel://) URL"
            ),
        ])
    func usage(arguments: [String], expected: String) async throws {
        let result = try await ShoalProcess.run(["lock"] + arguments)
        #expect(result.status == 2)
        #expect(result.stderr.contains(expected))
        #expect(result.stderr.split(separator: "\n").count == 1)
    }

    @Test("a holder paused past its TTL loses the lock to another; resumed, it stops its command and exits 76")
    func pausedHolder() async throws {
        let redis = try RedisServer.start()
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let marker = directory.appendingPathComponent("terminated").path
        let ready = directory.appendingPathComponent("ready").path
        let holder = try BackgroundShoal(
            [
                "lock", "--redis", redis.url, "--name", "job", "--ttl", "1s", "--",
                "sh", "-c", "trap 'echo TERM > \(marker); exit 143' TERM; : > \(ready); while :; do sleep 0.05; done",
            ], in: directory)
        // Paused only once the command runs and has set its trap.
        #expect(await eventually(within: 5) { FileManager.default.fileExists(atPath: ready) })
        holder.process.signal(SIGSTOP)
        try await Task.sleep(for: .milliseconds(1300))  // past the 1 s TTL: Redis expires the key
        let other = try await ShoalProcess.run([
            "lock", "--redis", redis.url, "--name", "job", "--no-wait", "--", "true",
        ])
        #expect(other.status == 0)
        holder.process.signal(SIGCONT)
        #expect(await eventually(within: 10) { !holder.process.isRunning })
        #expect(holder.process.exitCode == 76)
        #expect(holder.stderr.contains("lock 'job' (fencing token"))
        #expect(holder.stderr.contains("was lost: its time-to-live passed without a confirmed renewal"))
        #expect(FileManager.default.fileExists(atPath: marker))
        #expect(try redis.keys() == ["shoal:lock:job:fence"])
    }

    @Test("a lease that ran out before the command could start: exits 76 without running it")
    func lostBeforeStart() async throws {
        let redis = try RedisServer.start()
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let ran = directory.appendingPathComponent("ran").path
        // Redis paused: the lock is granted only after its 300 ms lease has run out.
        try redis.pause()
        let holder = try BackgroundShoal(
            ["lock", "--redis", redis.url, "--name", "job", "--ttl", "300ms", "--no-wait", "--", "touch", ran],
            in: directory)
        try await Task.sleep(for: .milliseconds(800))
        try redis.resume()
        #expect(await eventually(within: 10) { !holder.process.isRunning })
        #expect(holder.process.exitCode == 76)
        #expect(holder.stderr.contains("its time-to-live passed before the command could start; 'touch' was not run"))
        #expect(!FileManager.default.fileExists(atPath: ran))
        #expect(try redis.keys() == ["shoal:lock:job:fence"])
    }

    @Test("a command that ignores SIGTERM after a lost lock gets SIGKILL once --grace passes")
    func graceThenKill() async throws {
        let redis = try RedisServer.start()
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let ready = directory.appendingPathComponent("ready").path
        let holder = try BackgroundShoal(
            [
                "lock", "--redis", redis.url, "--name", "job", "--ttl", "2s", "--grace", "300ms", "--",
                "sh", "-c", "trap '' TERM; : > \(ready); while :; do sleep 0.05; done",
            ], in: directory)
        #expect(await eventually(within: 5) { FileManager.default.fileExists(atPath: ready) })
        _ = try redis.command("DEL", "shoal:lock:job")  // the next renewal is refused
        let deleted = ContinuousClock.now
        #expect(await eventually(within: 10) { !holder.process.isRunning })
        #expect(holder.process.exitCode == 76)
        #expect(ContinuousClock.now - deleted >= .milliseconds(300))  // SIGTERM, ignored; SIGKILL after the grace
        #expect(holder.stderr.contains("was lost: Redis no longer holds it under this lease"))
    }

    @Test("SIGTERM to shoal lock goes to the command; shoal exits with its code and releases")
    func forwardsSignals() async throws {
        let redis = try RedisServer.start()
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let ready = directory.appendingPathComponent("ready").path
        let holder = try BackgroundShoal(
            [
                "lock", "--redis", redis.url, "--name", "job", "--",
                "sh", "-c", "trap 'exit 42' TERM; : > \(ready); while :; do sleep 0.05; done",
            ], in: directory)
        #expect(await eventually(within: 5) { FileManager.default.fileExists(atPath: ready) })
        holder.process.signal(SIGTERM)
        #expect(await eventually(within: 5) { !holder.process.isRunning })
        #expect(holder.process.exitCode == 42)
        #expect(try redis.keys() == ["shoal:lock:job:fence"])
    }

    @Test("SIGTERM while waiting in line ends the wait, leaves the line and exits 143")
    func interruptedWait() async throws {
        let redis = try RedisServer.start()
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let locks = RedisLock(configuration: redis.configuration)
        let held = try #require(try await locks.tryAcquire("job", ttl: .seconds(30)))
        let waiter = try BackgroundShoal(
            ["lock", "--redis", redis.url, "--name", "job", "--wait", "30s", "--", "true"], in: directory)
        #expect(try await eventually(within: 5) { try redis.keys().contains("shoal:lock:job:queue") })
        waiter.process.signal(SIGTERM)
        #expect(await eventually(within: 5) { !waiter.process.isRunning })
        #expect(waiter.process.exitCode == 143)
        #expect(waiter.stderr.contains("interrupted while waiting for lock 'job'"))
        #expect(try redis.keys().sorted() == ["shoal:lock:job", "shoal:lock:job:fence"])
        _ = try await locks.release(held)
        await locks.close()
    }

    @Test("kill -9 of a holder: the lock frees when its TTL runs out, not before")
    func killedHolder() async throws {
        let redis = try RedisServer.start()
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let childPID = directory.appendingPathComponent("child.pid").path
        let holder = try BackgroundShoal(
            [
                "lock", "--redis", redis.url, "--name", "job", "--ttl", "2s", "--",
                "sh", "-c", "echo $$ > \(childPID); exec sleep 30",
            ], in: directory)
        #expect(try await eventually(within: 5) { try redis.keys().contains("shoal:lock:job") })
        holder.process.signal(SIGKILL)
        #expect(await eventually(within: 5) { !holder.process.isRunning })
        defer {
            if let pid = (try? String(contentsOfFile: childPID, encoding: .utf8)).flatMap({
                Int32($0.trimmingCharacters(in: .whitespacesAndNewlines))
            }) {
                kill(pid, SIGKILL)
            }
        }
        guard case .integer(let remaining) = try redis.command("PTTL", "shoal:lock:job") else {
            Issue.record("the lock's key has no TTL")
            return
        }
        let started = ContinuousClock.now
        let locks = RedisLock(configuration: redis.configuration)
        #expect(try await locks.tryAcquire("job", ttl: .seconds(5)) == nil)
        let lease = try await locks.acquire("job", ttl: .seconds(5), wait: .seconds(10))
        let waited = ContinuousClock.now - started
        #expect(remaining > 500)
        #expect(waited >= .milliseconds(remaining - 50))
        #expect(waited < .milliseconds(remaining + 1000))
        _ = try await locks.release(lease)
        await locks.close()
    }
}
