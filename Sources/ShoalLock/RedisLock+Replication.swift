import ShoalRESP
import ShoalRedis

extension RedisLock {
    /// `lease` once ``minimumReplicas`` replicas have its grant; with none asked for, at once.
    ///
    /// `WAIT` counts the replicas that have every write made on the connection it is sent
    /// on, and the grant may have been made on another (a pooled connection, or the last
    /// holder's hand-over). So a renewal is written first on the same connection: the
    /// replication stream is ordered, and a replica that has the renewal has the grant.
    ///
    /// When fewer replicas confirm in time, the lock is given back: a caller that asked for
    /// replicas must not hold a grant that a failover could forget.
    func replicated(_ lease: LockLease) async throws -> LockLease {
        guard minimumReplicas > 0 else { return lease }
        let keys = RedisLockKeys(prefix: keyPrefix, name: lease.name)
        let wanted = minimumReplicas
        let waitFor = replicaTimeout
        let confirmed: Int?
        do {
            confirmed = try await pool.withConnection { connection -> Int? in
                let renewed = try await connection.evaluate(
                    RedisLockScripts.renew, keys: [keys.lock], arguments: [lease.token, Self.milliseconds(lease.ttl)])
                guard renewed == .integer(1) else { return nil }
                let reply = try await connection.send(
                    RESPCommand("WAIT", String(wanted), Self.milliseconds(waitFor)),
                    timeout: waitFor + connection.configuration.commandTimeout)
                guard case .integer(let count) = reply else {
                    throw RedisError(.protocolViolation, "WAIT answered \(reply)")
                }
                return Int(count)
            }
        } catch {
            _ = try? await release(lease)
            throw LockError(
                .backendFailure, "lock '\(lease.name)' was granted, but waiting for its replicas failed: \(error)")
        }
        guard let confirmed else {
            throw LockError(
                .backendFailure,
                "lock '\(lease.name)' was granted, but Redis no longer held it when its replicas were asked")
        }
        guard confirmed >= wanted else {
            _ = try? await release(lease)
            throw LockError(
                .notReplicated,
                "lock '\(lease.name)' was granted (fencing token \(lease.fencingToken)), but only \(confirmed) of "
                    + "\(wanted) replicas had it within \(waitFor); it was given back. Check the replicas "
                    + "(INFO replication), or lower the number asked for")
        }
        return lease
    }
}
