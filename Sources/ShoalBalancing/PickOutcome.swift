/// What happened to a request sent to a picked endpoint. Report it with ``Pick/finish(_:)``.
public enum PickOutcome: Sendable, Hashable {
    /// The endpoint answered (any status that is not a server failure), after `latency`.
    case success(latency: Duration)
    /// The request failed; ``FailureKind/cancelled`` does not count against the endpoint.
    case failure(FailureKind, latency: Duration)

    /// The kind of a failure.
    public enum FailureKind: Sendable, Hashable {
        /// No connection could be made (refused, reset before a response, TLS failure).
        case connectFailure
        /// The endpoint answered with a server error (HTTP 5xx).
        case serverError
        /// No answer within the per-try timeout.
        case timeout
        /// The caller gave up (a hedge won, the client went away): not the endpoint's fault.
        case cancelled
    }

    /// The latency observed, whatever the outcome.
    public var latency: Duration {
        switch self {
        case .success(let latency), .failure(_, let latency): latency
        }
    }

    /// Whether this outcome counts against the endpoint's health.
    public var countsAsFailure: Bool {
        if case .failure(let kind, _) = self { return kind != .cancelled }
        return false
    }
}
