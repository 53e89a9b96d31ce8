import ShoalCore
import ShoalDiscovery
import Synchronization

/// Registers every instance given to it on one etcd lease, as etcd's own sessions do: one
/// keep-alive renews them all, and when the process stops renewing (it died, stalled, or was
/// cut off), etcd deletes all of its keys at once.
///
/// ```swift
/// let shared = EtcdSharedLeaseRegistry(registry: registry, ttl: .seconds(10))
/// let api = Registration(registry: shared, instance: apiInstance, ttl: .seconds(10))
/// let metrics = Registration(registry: shared, instance: metricsInstance, ttl: .seconds(10))
/// ```
///
/// - Every registration uses the lease's ``ttl``: a different one is refused.
/// - The lease is granted at the first registration. Renewals of several instances within a
///   third of the TTL of a confirmed keep-alive send no other.
/// - When etcd no longer has the lease (the process stalled past the TTL), renewals answer
///   `false`, so each `Registration` registers its instance again, on a new lease.
/// - Deregistering deletes the instance's key; the lease stays for the others. The keys are
///   marked as on a shared lease, so ``EtcdRegistry/deregister(service:id:)`` (the HTTP API)
///   deletes only the key too.
public final class EtcdSharedLeaseRegistry: ServiceRegistry {
    /// The registry the instances are written to.
    public let registry: EtcdRegistry
    /// The lease's time-to-live, which every registration through this one uses.
    public let ttl: Duration
    private let lease = Mutex<Lease?>(nil)

    private struct Lease {
        var id: Int64
        /// When a try that etcd granted or renewed it was sent.
        var confirmedAt: MonotonicInstant
    }

    /// Instances registered through this share one lease of `ttl` (1 s ... 1 h).
    public init(registry: EtcdRegistry, ttl: Duration) {
        self.registry = registry
        self.ttl = ttl
    }

    /// The lease the instances are on now; `nil` before the first registration, or once etcd
    /// lost it.
    public var leaseID: Int64? { lease.withLock { $0?.id } }

    public func register(_ instance: ServiceInstance, ttl: Duration) async throws -> ServiceInstance {
        guard ttl == self.ttl else {
            throw DiscoveryError(
                .invalidArgument, field: "ttl",
                "instances on a shared lease all use its time-to-live, \(self.ttl), not \(ttl)")
        }
        guard Self.ttlRange.contains(ttl) else {
            throw DiscoveryError(.invalidArgument, field: "ttl", "must be between 1s and 1h, not \(ttl)")
        }
        let leaseID = try await currentLease()
        do {
            return try await registry.write(instance, ttl: ttl, shared: leaseID)
        } catch is SharedLeaseGone {
            // Lost since it was last confirmed (the process stalled, or it was revoked): once.
            lease.withLock { if $0?.id == leaseID { $0 = nil } }
            do {
                return try await registry.write(instance, ttl: ttl, shared: try await currentLease())
            } catch is SharedLeaseGone {
                throw DiscoveryError(
                    .backendFailure,
                    "cannot register \(instance.service)/\(instance.id): etcd lost its new lease at once")
            }
        }
    }

    public func renew(service: String, id: String) async throws -> Bool {
        guard let current = lease.withLock({ $0 }) else { return false }
        let client = registry.client
        do {
            guard try await client.get(registry.key(service, id))?.lease == current.id else {
                return false  // registering it again checks the lease
            }
            if client.clock.now() - current.confirmedAt < ttl / 3 { return true }  // another renewal just did
            let (remaining, sentAt) = try await client.keepAliveTimed(lease: current.id)
            guard remaining != nil else {
                lease.withLock { if $0?.id == current.id { $0 = nil } }  // the next registration grants anew
                return false
            }
            lease.withLock { lease in
                if lease?.id == current.id, let at = lease?.confirmedAt, sentAt > at { lease?.confirmedAt = sentAt }
            }
            return true
        } catch let error as EtcdError {
            throw DiscoveryError(.backendFailure, "cannot renew \(service)/\(id): \(error)")
        }
    }

    public func deregister(service: String, id: String) async throws -> Bool {
        try await registry.deregister(service: service, id: id)
    }

    public func setHealth(_ health: HealthStatus, service: String, id: String) async throws -> Bool {
        try await registry.setHealth(health, service: service, id: id)
    }

    /// Revokes the lease, which deletes every instance still on it at once.
    public func revoke() async throws {
        guard
            let id = lease.withLock({ current -> Int64? in
                defer { current = nil }; return current?.id
            })
        else {
            return
        }
        do {
            _ = try await registry.client.revokeLease(id)
        } catch let error as EtcdError {
            throw DiscoveryError(.backendFailure, "cannot revoke the shared lease: \(error)")
        }
    }

    /// The lease, granted now if there is none. Two first registrations at once may both grant
    /// one: the first stored is kept and the other revoked.
    private func currentLease() async throws -> Int64 {
        if let id = lease.withLock({ $0?.id }) { return id }
        let client = registry.client
        let granted: (id: Int64, ttl: Int64, sentAt: MonotonicInstant)
        do {
            granted = try await client.grantLeaseTimed(ttl: ttl.leaseSeconds)
        } catch let error as EtcdError {
            throw DiscoveryError(.backendFailure, "cannot grant the shared lease: \(error)")
        }
        let kept = lease.withLock { current -> Int64 in
            if let current { return current.id }
            current = Lease(id: granted.id, confirmedAt: granted.sentAt)
            return granted.id
        }
        if kept != granted.id { _ = try? await client.revokeLease(granted.id) }
        return kept
    }
}
