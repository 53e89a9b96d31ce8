/// An active check the registry runs against an instance, with HAProxy's semantics:
/// `fall` failures in a row make it ``HealthStatus/critical``, then `rise` successes in a
/// row make it ``HealthStatus/passing`` again.
public struct HealthCheck: Sendable, Hashable {
    public enum Probe: Sendable, Hashable {
        /// `GET path` over HTTP/1.1; any 2xx status passes.
        case http(path: String)
        /// A TCP connection that opens passes.
        case tcp
    }

    public var probe: Probe
    /// Time between probes. Default 10 s.
    public var interval: Duration
    /// How long a probe may take before it fails. Default 2 s.
    public var timeout: Duration
    /// Failures in a row that mark the instance critical. Default 3.
    public var fall: Int
    /// Successes in a row that mark it passing again. Default 2.
    public var rise: Int

    /// - Throws: ``DiscoveryError`` naming the setting at fault.
    public init(
        _ probe: Probe, interval: Duration = .seconds(10), timeout: Duration = .seconds(2), fall: Int = 3,
        rise: Int = 2
    ) throws(DiscoveryError) {
        if case .http(let path) = probe, !path.hasPrefix("/") || path.contains(where: { $0.isWhitespace }) {
            throw DiscoveryError(
                .invalidArgument, field: "check.http", "must be a path starting with '/', not '\(path)'")
        }
        guard interval >= .milliseconds(10), interval <= .seconds(3600) else {
            throw DiscoveryError(
                .invalidArgument, field: "check.interval", "must be between 10ms and 1h, not \(interval)")
        }
        guard timeout >= .milliseconds(1), timeout <= .seconds(60) else {
            throw DiscoveryError(
                .invalidArgument, field: "check.timeout", "must be between 1ms and 60s, not \(timeout)")
        }
        guard (1...100).contains(fall), (1...100).contains(rise) else {
            throw DiscoveryError(.invalidArgument, field: "check.fall", "fall and rise must be in 1...100")
        }
        self.probe = probe
        self.interval = interval
        self.timeout = timeout
        self.fall = fall
        self.rise = rise
    }
}

/// HAProxy's fall/rise counting, apart from any I/O: feed it probe results, read the status.
public struct HealthCounter: Sendable, Hashable {
    public let fall: Int
    public let rise: Int
    public private(set) var status: HealthStatus
    private var failures = 0
    private var successes = 0

    public init(fall: Int, rise: Int, status: HealthStatus = .passing) {
        self.fall = fall
        self.rise = rise
        self.status = status
    }

    /// Counts one probe; returns the new status if it changed.
    public mutating func record(passed: Bool) -> HealthStatus? {
        if passed {
            failures = 0
            successes += 1
            if status != .passing && successes >= rise {
                status = .passing
                return status
            }
        } else {
            successes = 0
            failures += 1
            if status != .critical && failures >= fall {
                status = .critical
                return status
            }
        }
        return nil
    }
}
