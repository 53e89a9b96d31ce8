import Synchronization

/// Why a connection ended, written by its channel handler and read by senders whose
/// commands reach the channel only after it closed (say, a TLS handshake that failed before
/// the first command): they fail with the real reason, not just "closed".
final class ConnectionEnd: Sendable {
    private let reason = Mutex<RedisError?>(nil)

    /// The first reason recorded wins.
    func record(_ error: RedisError) {
        reason.withLock { if $0 == nil { $0 = error } }
    }

    var recorded: RedisError? { reason.withLock { $0 } }
}
