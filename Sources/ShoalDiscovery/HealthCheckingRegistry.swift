/// A registry that also runs an active health check for an instance registered with one,
/// such as `shoal serve` through its registry API.
public protocol HealthCheckingRegistry: ServiceRegistry {
    /// Registers `instance` as ``ServiceRegistry/register(_:ttl:)`` does and, with a
    /// `check`, probes it until it is deregistered or expires (without one, stops any check).
    func register(_ instance: ServiceInstance, ttl: Duration, check: HealthCheck?) async throws -> ServiceInstance
}
