/// Why a call to a service by name failed. Each case says which service.
public enum ServiceCallError: Error, Sendable, CustomStringConvertible {
    /// The service has no instance that passes its health checks (or none registered).
    case noInstances(service: String)
    /// Every try failed before an answer: each attempt says which instance and how.
    case allAttemptsFailed(service: String, attempts: [Attempt])
    /// The call's overall timeout passed before an answer.
    case timeout(service: String, after: Duration, attempts: [Attempt])
    /// The registry could not be asked for the service's instances.
    case discoveryFailed(service: String, reason: String)
    /// The request cannot be sent as given (its URL must be a path, such as `/orders/42`).
    case invalidRequest(String)
    /// The client was shut down.
    case shutDown

    /// One failed try.
    public struct Attempt: Sendable, Hashable, CustomStringConvertible {
        /// The instance's `host:port`.
        public let instance: String
        /// What went wrong: a connect failure, a per-try timeout, or a 502/503 answer.
        public let failure: String

        public init(instance: String, failure: String) {
            self.instance = instance
            self.failure = failure
        }

        public var description: String { "\(instance): \(failure)" }
    }

    public var description: String {
        switch self {
        case .noInstances(let service):
            "service '\(service)' has no instance to call (none registered, or none passes its checks)"
        case .allAttemptsFailed(let service, let attempts):
            "every try to service '\(service)' failed: "
                + attempts.map(\.description).joined(separator: "; ")
        case .timeout(let service, let after, let attempts):
            "the call to service '\(service)' timed out after \(after)"
                + (attempts.isEmpty ? "" : " (" + attempts.map(\.description).joined(separator: "; ") + ")")
        case .discoveryFailed(let service, let reason):
            "cannot find the instances of service '\(service)': \(reason)"
        case .invalidRequest(let reason):
            "cannot send the request: \(reason)"
        case .shutDown:
            "the service client is shut down"
        }
    }
}
