import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Runs a program as a real child process and collects what it prints. For tests only.
public enum ChildProcess {
    /// What a finished child process left behind.
    public struct Result: Sendable {
        /// The exit status (or the signal number, for a process killed by a signal).
        public var status: Int32
        /// Everything written to standard output.
        public var stdout: Data
        /// Everything written to standard error, as UTF-8.
        public var stderr: String
        /// Standard output as UTF-8.
        public var output: String { String(decoding: stdout, as: UTF8.self) }
    }

    /// Runs `executable` with `arguments` (and `environment` added to this process's own),
    /// writes `stdin` to it and waits for it to exit.
    ///
    /// Input is written and both outputs are read on their own threads, so a child that
    /// prints a lot before reading all its input cannot deadlock the test.
    public static func run(
        _ executable: URL, _ arguments: [String], stdin: Data = Data(), environment: [String: String] = [:]
    ) throws -> Result {
        _ = ignoringBrokenPipes
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let input = Pipe()
        let output = Pipe()
        let error = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = error
        try process.run()

        let done = DispatchGroup()
        let errorBox = DataBox()
        DispatchQueue.global().async(group: done) {
            // A child may exit without reading all its input (openssl s_client after a
            // refused handshake): the write then fails with EPIPE, which is no error here.
            // (The non-throwing `write(_:)` traps on it; SIGPIPE is ignored, see below.)
            try? input.fileHandleForWriting.write(contentsOf: stdin)
            try? input.fileHandleForWriting.close()
        }
        DispatchQueue.global().async(group: done) {
            errorBox.set(error.fileHandleForReading.readDataToEndOfFile())
        }
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        done.wait()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, stdout: outputData,
            stderr: String(decoding: errorBox.get(), as: UTF8.self))
    }
}

extension ChildProcess {
    /// Writing to a child that closed its input raises SIGPIPE, which ends the whole test
    /// process by default. Ignored once, the first time a child is run, so the write fails
    /// with EPIPE instead.
    private static let ignoringBrokenPipes: Void = {
        signal(SIGPIPE, SIG_IGN)
    }()
}

/// Data handed from a reader thread to the waiting one.
private final class DataBox: Sendable {
    private let lock = NSLock()
    // Guarded by `lock`; `nonisolated(unsafe)` because NSLock is not known to the compiler.
    private nonisolated(unsafe) var data = Data()

    func set(_ value: Data) {
        lock.lock()
        data = value
        lock.unlock()
    }

    func get() -> Data {
        lock.lock()
        defer { lock.unlock() }
        return data
    }
}
