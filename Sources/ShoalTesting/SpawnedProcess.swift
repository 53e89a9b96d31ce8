import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A child process started with `posix_spawn` and reaped with `waitpid` by this object alone,
/// so that whether it runs, and when it exits, is known at once. (Foundation's `Process`
/// learns of an exit only when a run loop turns, which made every stop wait for its
/// time-out.)
public final class SpawnedProcess: Sendable {
    public let pid: pid_t
    private let exitStatus = Mutex<Int32?>(nil)

    private init(pid: pid_t) {
        self.pid = pid
    }

    /// Starts `path` with `arguments`, its standard output and error written to the files
    /// named (created or truncated; /dev/null by default), and `environment` added to this
    /// process's own.
    public static func spawn(
        _ path: String, _ arguments: [String], standardOutput: String = "/dev/null",
        standardError: String = "/dev/null", environment: [String: String] = [:]
    ) throws -> SpawnedProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, standardOutput, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, standardError, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        // Nothing else of this process's: a socket a child inherits stays open after this
        // process closes it (a Redis connection a test closed would linger in the server).
        // glibc 2.34 has the call; Swift's Glibc module does not declare it.
        if let closeFrom = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") {
            typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
            _ = unsafeBitCast(closeFrom, to: CloseFrom.self)(&actions, 3)
        }
        // A child inherits the spawning thread's signal mask, and test runners block signals
        // in their threads: a child with SIGTERM blocked would never stop. Start it with
        // nothing blocked and default handlers.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigfillset(&defaults)
        sigdelset(&defaults, SIGKILL)
        sigdelset(&defaults, SIGSTOP)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let variables = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let envp: [UnsafeMutablePointer<CChar>?] = variables.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { envp.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
        guard result == 0 else { throw RedisServerError("cannot start \(path): error \(result)") }
        return SpawnedProcess(pid: pid)
    }

    /// The exit code once the process has exited (128 + N if signal N ended it), else `nil`.
    public var exitCode: Int32? {
        guard !isRunning, let raw = exitStatus.withLock({ $0 }) else { return nil }
        let signal = raw & 0x7f
        return signal == 0 ? (raw >> 8) & 0xff : 128 + signal
    }

    /// Whether the process has not exited yet (reaping it if it has).
    public var isRunning: Bool {
        exitStatus.withLock { status in
            if status != nil { return false }
            var raw: Int32 = 0
            let reaped = waitpid(pid, &raw, WNOHANG)
            if reaped == pid || (reaped < 0 && errno == ECHILD) {
                status = raw
                return false
            }
            return true
        }
    }

    /// Sends `number` if the process still runs.
    public func signal(_ number: Int32) {
        if isRunning { _ = Glibc.kill(pid, number) }
    }

    /// Kills the process at once (SIGKILL), as a crash would, and reaps it.
    public func kill() {
        signal(SIGKILL)
        waitForExit(seconds: 5)
    }

    /// Waits up to `seconds` for the process to exit, sleeping between looks without holding
    /// a thread (for async tests); `true` if it did.
    @discardableResult
    public func exited(within seconds: Double) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while isRunning {
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return true
    }

    /// Waits up to `seconds` for the process to exit, blocking the thread; `true` if it did.
    @discardableResult
    public func waitForExit(seconds: Double) -> Bool {
        var waited = 0.0
        while isRunning {
            if waited >= seconds { return false }
            usleep(2_000)
            waited += 0.002
        }
        return true
    }
}
