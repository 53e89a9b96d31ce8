import ShoalRESP

/// Why a Redis command or connection failed, with a message that says what and where.
public struct RedisError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong. New codes may be added; switch with a `default`.
    public struct Code: Hashable, Sendable {
        fileprivate enum Base: Hashable, Sendable {
            case connectionRefused, connectionClosed, timeout, cancelled, server, protocolViolation, setupFailed,
                tlsFailed, notPrimary
        }
        fileprivate let base: Base

        /// Nothing accepted the connection (refused, unreachable, or no answer in time).
        public static let connectionRefused = Code(base: .connectionRefused)
        /// The connection closed before the reply came (the server went away, or another
        /// command on it timed out or was cancelled).
        public static let connectionClosed = Code(base: .connectionClosed)
        /// No reply within the command's deadline; the connection was closed, since a sent
        /// command cannot be withdrawn.
        public static let timeout = Code(base: .timeout)
        /// The calling task was cancelled while waiting; the connection was closed.
        public static let cancelled = Code(base: .cancelled)
        /// The server answered with an error reply (``RedisError/serverMessage``).
        public static let server = Code(base: .server)
        /// The server sent bytes that are not RESP; the connection was closed.
        public static let protocolViolation = Code(base: .protocolViolation)
        /// HELLO, AUTH, SELECT or CLIENT SETNAME failed while connecting.
        public static let setupFailed = Code(base: .setupFailed)
        /// The TLS handshake failed (an untrusted or mismatched certificate, a server that
        /// does not speak TLS), or the TLS settings could not be used.
        public static let tlsFailed = Code(base: .tlsFailed)
        /// The server the sentinels named is not a primary (`ROLE` says replica: a
        /// failover is under way), or no sentinel could name one in time.
        public static let notPrimary = Code(base: .notPrimary)
    }

    /// What went wrong.
    public let code: Code
    /// The whole sentence.
    public let message: String
    /// The server's error reply, for ``Code-swift.struct/server`` and setup failures.
    public let serverMessage: String?

    /// An error with a code and a sentence saying what happened and where.
    public init(_ code: Code, _ message: String, serverMessage: String? = nil) {
        self.code = code
        self.message = message
        self.serverMessage = serverMessage
    }

    public var description: String { message }

    static func server(_ reply: RESPValue) -> RedisError {
        let text = reply.string ?? "\(reply)"
        return RedisError(.server, "server error: \(text)", serverMessage: text)
    }
}
