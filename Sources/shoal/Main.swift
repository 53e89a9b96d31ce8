import ArgumentParser

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Runs `shoal` with one documented exit code per outcome: 0 success, 1 a failure while
/// running, 2 bad usage. Usage errors are one line on standard error that names the argument.
@main
enum Main {
    static func main() async {
        do {
            var command = try ShoalCommand.parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as UsageError {
            fail(error.message, code: ExitStatus.usage)
        } catch let error as RuntimeFailure {
            fail(error.message, code: ExitStatus.failure)
        } catch let request as ExitRequest {
            if let message = request.message { StandardError.write("shoal: \(message)\n") }
            exit(request.code)
        } catch {
            let code = ShoalCommand.exitCode(for: error)
            if code == .success || error is ExitCode {
                ShoalCommand.exit(withError: error)  // --help, --version, or an explicit exit
            }
            // One line: the parser's own messages sometimes list choices on further lines.
            let message = ShoalCommand.message(for: error)
                .split(separator: "\n").map { $0.trimmingPrefix(while: \.isWhitespace) }.joined(separator: " ")
            fail(message.hasPrefix("Error: ") ? String(message.dropFirst(7)) : message, code: ExitStatus.usage)
        }
    }

    static func fail(_ message: String, code: Int32) -> Never {
        StandardError.write("shoal: \(message)\n")
        exit(code)
    }
}

/// `shoal`'s exit codes.
enum ExitStatus {
    /// Something failed while running (an unreadable input, a write error).
    static let failure: Int32 = 1
    /// A flag, node or value was malformed or missing.
    static let usage: Int32 = 2
    /// A service (Redis) could not be reached: EX_UNAVAILABLE.
    static let unavailable: Int32 = 69
    /// The lock was not free within the wait, or at once with --no-wait: EX_TEMPFAIL.
    static let notAcquired: Int32 = 75
    /// The lock was lost while the command ran: EX_PROTOCOL.
    static let lockLost: Int32 = 76
    /// The command could not be started, as shells report it.
    static let cannotRun: Int32 = 127
}

/// Ends `shoal` with `code`, printing `message` (if any) on standard error.
struct ExitRequest: Error {
    let code: Int32
    let message: String?
}
