/// A service's instances at one moment.
public struct ServiceSnapshot: Sendable, Hashable {
    public let service: String
    /// Increases with every change to the service (a registration that differs, a
    /// deregistration, an expiry, a health change), never with a renewal. Zero for a
    /// service that has never had an instance.
    public let index: UInt64
    /// Sorted by id.
    public let instances: [ServiceInstance]
    /// Whether this is the last known state, served because the backend cannot be reached.
    public let isStale: Bool

    public init(service: String, index: UInt64, instances: [ServiceInstance], isStale: Bool = false) {
        self.service = service
        self.index = index
        self.instances = instances
        self.isStale = isStale
    }

    /// The instances that are not ``HealthStatus/critical``.
    public var healthy: [ServiceInstance] { instances.filter { $0.health != .critical } }
}

/// A service and how many of its instances are in each state, for listings.
public struct ServiceSummary: Sendable, Hashable {
    public let service: String
    public let index: UInt64
    public let passing: Int
    public let warning: Int
    public let critical: Int

    public init(service: String, index: UInt64, passing: Int, warning: Int, critical: Int) {
        self.service = service
        self.index = index
        self.passing = passing
        self.warning = warning
        self.critical = critical
    }
}
