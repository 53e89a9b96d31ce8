import Foundation
import ShoalDiscovery

/// What the etcd registry keeps at an instance's key: the registration, its health, its
/// time-to-live and when it was first registered, as JSON with sorted keys, so that the same
/// registration always has the same bytes.
struct EtcdRegistryRecord: Codable, Equatable, Sendable {
    var address: String
    var port: Int
    var weight: Double
    var zone: String?
    var metadata: [String: String]
    var health: String
    var ttlMilliseconds: Int64
    /// Milliseconds since 1970, on the clock of the `shoal serve` that first stored it.
    var registeredAt: Int64
    /// When the record was last written (a registration or a health change), on the writer's
    /// clock. A renewal is a keep-alive of the instance's lease, which writes nothing.
    var writtenAt: Int64
    /// `true` when the key is on a lease that other instances share (an
    /// ``EtcdSharedLeaseRegistry``'s): removing this instance deletes its key, never the lease.
    var sharedLease: Bool?

    init(_ instance: ServiceInstance, ttl: Duration, registeredAt: Int64, writtenAt: Int64) {
        address = instance.address
        port = instance.port
        weight = instance.weight
        zone = instance.zone
        metadata = instance.metadata
        health = instance.health.rawValue
        ttlMilliseconds = ttl.components.seconds * 1000 + ttl.components.attoseconds / 1_000_000_000_000_000
        self.registeredAt = registeredAt
        self.writtenAt = writtenAt
    }

    /// Whether the key's lease is the instance's own, to revoke with it.
    var ownsLease: Bool { sharedLease != true }

    /// Whether the two describe the same registration, whenever they were written.
    func sameRegistration(as other: EtcdRegistryRecord) -> Bool {
        var copy = other
        copy.writtenAt = writtenAt
        return copy == self
    }

    func json() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Plain strings and numbers always encode.
        return (try? encoder.encode(self)) ?? Data("{}".utf8)
    }

    static func decode(_ bytes: [UInt8]) -> EtcdRegistryRecord? {
        try? JSONDecoder().decode(EtcdRegistryRecord.self, from: Data(bytes))
    }

    /// The instance this record describes; `nil` for a record that is not one (written by
    /// something else, or damaged): it is left out rather than fail the whole service.
    func instance(service: String, id: String) -> ServiceInstance? {
        guard
            let instance = try? ServiceInstance(
                service: service, id: id, address: address, port: port, weight: weight, zone: zone,
                metadata: metadata, health: HealthStatus(rawValue: health) ?? .passing)
        else { return nil }
        return instance.stored(registeredAt: registeredAt, renewedAt: max(writtenAt, registeredAt))
    }
}
