import ShoalCore

/// One running copy of a service, as registered.
///
/// ```swift
/// let instance = try ServiceInstance(
///     service: "payments", id: "payments-1", address: "10.0.0.7", port: 8080,
///     zone: "eu-west-1a", metadata: ["version": "2.4.1"])
/// ```
public struct ServiceInstance: Sendable, Hashable {
    /// The service's name: 1 to 128 characters of letters, digits, `.`, `_` and `-`.
    public let service: String
    /// The instance's id, unique within its service; the same characters as a name.
    public let id: String
    /// A host name or IP address callers connect to.
    public var address: String
    /// 1...65535.
    public var port: Int
    /// Relative share of traffic; greater than zero. Default 1.
    public var weight: Double
    public var zone: String?
    /// Free-form strings: version, tags.
    public var metadata: [String: String]
    public var health: HealthStatus
    /// When the registry first stored it, in milliseconds since 1970 (set by the registry).
    public internal(set) var registeredAt: Int64
    /// When it was last registered or renewed, in milliseconds since 1970 (set by the registry).
    public internal(set) var renewedAt: Int64

    /// - Throws: ``DiscoveryError`` with ``DiscoveryError/Code-swift.struct/invalidArgument``
    ///   naming the field at fault.
    public init(
        service: String, id: String, address: String, port: Int, weight: Double = 1, zone: String? = nil,
        metadata: [String: String] = [:], health: HealthStatus = .passing
    ) throws(DiscoveryError) {
        try Self.checkName(service, field: "service")
        try Self.checkName(id, field: "id")
        guard !address.isEmpty, address.utf8.count <= 253, !address.contains(where: \.isWhitespace) else {
            throw DiscoveryError(
                .invalidArgument, field: "address", "must be a host name or IP address, not '\(address)'")
        }
        guard (1...65535).contains(port) else {
            throw DiscoveryError(.invalidArgument, field: "port", "must be in 1...65535, not \(port)")
        }
        guard weight.isFinite, weight > 0 else {
            throw DiscoveryError(.invalidArgument, field: "weight", "must be a number greater than 0, not \(weight)")
        }
        if let zone, zone.isEmpty || zone.utf8.count > 128 {
            throw DiscoveryError(.invalidArgument, field: "zone", "must be 1 to 128 characters when given")
        }
        guard metadata.count <= 64,
            metadata.allSatisfy({ !$0.key.isEmpty && $0.key.utf8.count <= 128 && $0.value.utf8.count <= 1024 })
        else {
            throw DiscoveryError(
                .invalidArgument, field: "metadata",
                "may have up to 64 entries, keys of 1 to 128 bytes and values of up to 1024")
        }
        self.service = service
        self.id = id
        self.address = address
        self.port = port
        self.weight = weight
        self.zone = zone
        self.metadata = metadata
        self.health = health
        self.registeredAt = 0
        self.renewedAt = 0
    }

    /// Where to send requests, for a ``ShoalBalancing`` load balancer or a hash ring.
    public func endpoint() throws(EndpointError) -> Endpoint {
        var metadata = metadata
        metadata["instance"] = id
        return try Endpoint(host: address, port: port, weight: weight, zone: zone, metadata: metadata)
    }

    /// The instance with the times a registry stored it with, for a client that reads
    /// instances from a registry elsewhere (such as `shoal serve`'s API) and keeps them.
    ///
    /// - Parameters:
    ///   - registeredAt: when the registry first stored it, in milliseconds since 1970.
    ///   - renewedAt: when it was last registered or renewed, in milliseconds since 1970.
    public func stored(registeredAt: Int64, renewedAt: Int64) -> ServiceInstance {
        var copy = self
        copy.registeredAt = registeredAt
        copy.renewedAt = renewedAt
        return copy
    }

    /// Whether two registrations describe the same instance, apart from the registry's times.
    func sameRegistration(as other: ServiceInstance) -> Bool {
        var this = self
        this.registeredAt = other.registeredAt
        this.renewedAt = other.renewedAt
        return this == other
    }

    static func checkName(_ name: String, field: String) throws(DiscoveryError) {
        let allowed = name.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                true
            default: false
            }
        }
        guard !name.isEmpty, name.utf8.count <= 128, allowed else {
            throw DiscoveryError(
                .invalidArgument, field: field,
                "must be 1 to 128 characters of letters, digits, '.', '_' and '-', not '\(name)'")
        }
    }
}
