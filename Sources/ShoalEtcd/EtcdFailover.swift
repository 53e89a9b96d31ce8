import GRPCCore

/// What a failed try of a call to one member means: try another member, get a new token,
/// or give up. A value, so that the rules are tested without a cluster.
enum EtcdFailover: Equatable, Sendable {
    /// The member cannot serve now (down, partitioned, leaderless, too slow): later calls go
    /// to the next member; this call tries again there when it may be repeated.
    case moveOn(EtcdError)
    /// The authentication token expired or was revoked: get a new one and try again.
    case reauthenticate
    /// An answer that another member would give too.
    case fail(EtcdError)

    /// Reads an error of one try, from gRPC's code and etcd's message.
    static func classify(_ code: RPCError.Code, message: String) -> EtcdFailover {
        switch code {
        case .unavailable, .deadlineExceeded, .resourceExhausted, .aborted, .unknown, .internalError:
            // etcd answers "no leader", "leader changed", "request timed out" and "stopped" as
            // unavailable; the transport reports a lost or refused connection the same way.
            return .moveOn(EtcdError(.unavailable, "etcd: \(message)"))
        case .unauthenticated:
            return message.contains("invalid auth token") || message.contains("auth token")
                ? .reauthenticate : .fail(EtcdError(.unauthenticated, "etcd: \(message)"))
        case .permissionDenied:
            return .fail(EtcdError(.unauthenticated, "etcd: \(message)"))
        case .notFound where message.contains("lease not found"):
            return .fail(EtcdError(.leaseNotFound, "etcd: \(message)"))
        case .outOfRange where message.contains("compacted"):
            return .fail(EtcdError(.compacted, "etcd: \(message)"))
        case .invalidArgument where message.contains("auth store is old") || message.contains("user name is empty"):
            // The users or roles changed since the token was issued: etcd's own client logs in again.
            return .reauthenticate
        case .invalidArgument where message.contains("invalid user ID or password"):
            return .fail(EtcdError(.unauthenticated, "etcd: \(message)"))
        case .invalidArgument, .failedPrecondition, .outOfRange:
            return .fail(EtcdError(.invalidArgument, "etcd: \(message)"))
        default:
            return .fail(EtcdError(.failed, "etcd: \(message)"))
        }
    }

    /// The pause after `round` rounds of tries over every member failed: none after the first
    /// (one member down is no reason to wait), then 50 ms doubling to at most 250 ms, so that a
    /// call waiting out an election (one to two seconds) goes on within a quarter second of
    /// the new leader, at the cost of a few quick refusals meanwhile.
    static func pause(afterRound round: Int) -> Duration {
        guard round >= 2 else { return .zero }
        return min(.milliseconds(25) * (1 << min(round - 1, 4)), .milliseconds(250))
    }
}
