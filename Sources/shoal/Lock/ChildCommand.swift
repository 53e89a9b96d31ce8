import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A command run as a child process that shares this process's standard streams.
final class ChildCommand: Sendable {
    let pid: pid_t
    let name: String
    /// Set, under the lock, just before the exited child is reaped: its pid may be reused
    /// from then on, so no signal may be sent to it.
    private let reaped = Mutex(false)

    private init(pid: pid_t, name: String) {
        self.pid = pid
        self.name = name
    }

    /// Starts `arguments[0]` (looked up in `PATH`) with the rest as its arguments and this
    /// process's environment plus `environment`.
    ///
    /// - Throws: ``ChildCommandError`` when it cannot be started (not found, not executable).
    static func start(_ arguments: [String], environment: [String: String]) throws(ChildCommandError) -> ChildCommand {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The child starts with no signals blocked and default handlers, whatever this
        // process ignores or blocks.
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigfillset(&defaults)
        sigdelset(&defaults, SIGKILL)
        sigdelset(&defaults, SIGSTOP)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let merged = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = posix_spawnp(&pid, arguments[0], nil, &attributes, argv, envp)
        guard result == 0 else {
            throw ChildCommandError(command: arguments[0], reason: String(cString: strerror(result)))
        }
        return ChildCommand(pid: pid, name: arguments[0])
    }

    /// Sends `number` unless the child has exited and been reaped.
    func signal(_ number: Int32) {
        reaped.withLock { reaped in
            if !reaped { _ = kill(pid, number) }
        }
    }

    /// Waits for the child to exit and returns its exit code, or 128 + the signal that
    /// ended it, as shells report it. Cancellation does not stop the wait: the caller stops
    /// the child with signals and waits on.
    func exitCode() async -> Int32 {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { [self] in
                // Wait for the exit without reaping, so the pid stays this child's while
                // `signal` may still use it; then reap under the lock.
                var info = siginfo_t()
                while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) < 0 && errno == EINTR {}
                var status: Int32 = 0
                reaped.withLock { reaped in
                    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                    reaped = true
                }
                let signal = status & 0x7f
                continuation.resume(returning: signal == 0 ? (status >> 8) & 0xff : 128 + signal)
            }
        }
    }
}

/// The command could not be started.
struct ChildCommandError: Error, CustomStringConvertible {
    let command: String
    let reason: String
    var description: String { "cannot run '\(command)': \(reason)" }
}
