import GRPCCore
import ShoalCore

extension EtcdClient {
    /// Grants a lease of `ttl` whole seconds; returns its id and the TTL etcd gave it (etcd
    /// raises a TTL below its minimum, about 1.5 × the election timeout).
    ///
    /// Repeated after a lost answer, a grant makes a second lease, which expires unused.
    public func grantLease(ttl seconds: Int64) async throws -> (id: Int64, ttl: Int64) {
        let (id, ttl, _) = try await grantLeaseTimed(ttl: seconds)
        return (id, ttl)
    }

    /// ``grantLease(ttl:)``, with when the try that was granted was sent: the lease runs from
    /// no earlier than that (a try that failed on another member first does not count).
    func grantLeaseTimed(ttl seconds: Int64) async throws -> (id: Int64, ttl: Int64, sentAt: MonotonicInstant) {
        var request = Etcdserverpb_LeaseGrantRequest()
        request.ttl = seconds
        let clock = clock
        let (response, sentAt) = try await call("lease grant", idempotent: true) {
            [request] client, metadata, options in
            let sentAt = clock.now()
            return (
                try await Etcdserverpb_Lease.Client(wrapping: client).leaseGrant(
                    request, metadata: metadata, options: options), sentAt
            )
        }
        guard response.error.isEmpty else { throw EtcdError(.failed, "etcd refused a lease: \(response.error)") }
        return (response.id, response.ttl, sentAt)
    }

    /// Renews the lease once; returns its TTL from now, or `nil` when it no longer exists
    /// (it expired or was revoked: its keys are gone).
    ///
    /// - Parameter timeout: the longest the renewal may take, all tries together: a renewal
    ///   confirmed after the lease's end is of no use.
    public func keepAlive(lease id: Int64, timeout: Duration? = nil) async throws -> Int64? {
        try await keepAliveTimed(lease: id, timeout: timeout).ttl
    }

    /// ``keepAlive(lease:timeout:)``, with when the try that renewed it was sent: the lease
    /// runs from no earlier than that.
    func keepAliveTimed(lease id: Int64, timeout: Duration? = nil) async throws -> (
        ttl: Int64?, sentAt: MonotonicInstant
    ) {
        var request = Etcdserverpb_LeaseKeepAliveRequest()
        request.id = id
        let clock = clock
        let (ttl, sentAt) = try await call("lease keep-alive", idempotent: true, timeout: timeout) {
            [request] client, metadata, options in
            let sentAt = clock.now()
            // One request on the stream: etcd answers it before it reads the stream's end.
            let ttl = try await Etcdserverpb_Lease.Client(wrapping: client).leaseKeepAlive(
                metadata: metadata, options: options,
                requestProducer: { writer in try await writer.write(request) },
                onResponse: { response in
                    for try await message in response.messages { return message.ttl }
                    throw RPCError(code: .unavailable, message: "the keep-alive stream ended without an answer")
                })
            return (ttl, sentAt)
        }
        return (ttl > 0 ? ttl : nil, sentAt)
    }

    /// Ends the lease now, deleting its keys; `false` when it no longer existed.
    @discardableResult
    public func revokeLease(_ id: Int64) async throws -> Bool {
        var request = Etcdserverpb_LeaseRevokeRequest()
        request.id = id
        do {
            _ = try await call("lease revoke", idempotent: true) { [request] client, metadata, options in
                try await Etcdserverpb_Lease.Client(wrapping: client).leaseRevoke(
                    request, metadata: metadata, options: options)
            }
            return true
        } catch let error as EtcdError where error.code == .leaseNotFound {
            return false
        }
    }

    /// The lease's remaining TTL in seconds, or `nil` when it no longer exists.
    public func timeToLive(lease id: Int64) async throws -> Int64? {
        var request = Etcdserverpb_LeaseTimeToLiveRequest()
        request.id = id
        let response = try await call("lease time-to-live", idempotent: true) { [request] client, metadata, options in
            try await Etcdserverpb_Lease.Client(wrapping: client).leaseTimeToLive(
                request, metadata: metadata, options: options)
        }
        return response.ttl > 0 ? response.ttl : nil
    }
}
