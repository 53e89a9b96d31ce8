/// How an instance is doing, as its checks (or its owner) last said.
public enum HealthStatus: String, Sendable, Hashable, CaseIterable {
    /// Serving: callers should use it.
    case passing
    /// Serving but degraded: callers may prefer others.
    case warning
    /// Not serving: callers should not use it.
    case critical
}
