import NIOCore
import ShoalCore
import ShoalRESP
import ShoalRedis

/// Locks held on a majority of independent Redis servers (the Redlock algorithm), so the
/// lock survives the loss of a minority of them.
///
/// ```swift
/// let locks = Redlock(servers: [a, b, c].map { RedisConfiguration(host: $0, port: 6379) })
/// try await locks.withLock("rebalance", ttl: .seconds(10), wait: .seconds(5)) { _ in … }
/// ```
///
/// To acquire, the same random token is set with `SET NX PX` on every server at once, each
/// with a short ``serverTimeout``. The lock is held if a majority (the quorum) said yes and
/// time is left: the validity is the time-to-live less the time the round took and less the
/// clock drift allowance (``driftFactor`` × ttl + 2 ms). Otherwise it is released everywhere
/// and tried again after a random pause of up to ``retryDelay``, until the wait runs out.
/// Renewal extends the key where the token still holds it and needs the quorum again;
/// release deletes it everywhere the token still holds it.
///
/// - Important: Redlock gives no orderable fencing token: servers count independently, so
///   no number is both agreed and increasing. ``LockLease/fencingToken`` is always 0 here,
///   and a holder that pauses past its lease can still write after the next holder. Use
///   ``RedisLock`` with fenced writes where that matters. There is no waiting line either:
///   waiters retry with jitter, so turns are not first come, first served.
public final class Redlock: DistributedLock {
    public let clock: any MonotonicClock
    /// One pool per server.
    public let pools: [RedisConnectionPool]
    /// How long to wait for each server in a round. Default 50 ms.
    public let serverTimeout: Duration
    /// The clock drift allowance, as a fraction of the time-to-live. Default 0.01.
    public let driftFactor: Double
    /// The longest random pause between rounds. Default 200 ms.
    public let retryDelay: Duration
    /// Prepended to lock names. Default `shoal:redlock:`.
    public let keyPrefix: String

    /// The number of servers that must agree: a majority.
    public var quorum: Int { pools.count / 2 + 1 }

    public init(
        servers: [RedisConfiguration], clock: any MonotonicClock = SystemClock(),
        serverTimeout: Duration = .milliseconds(50), driftFactor: Double = 0.01,
        retryDelay: Duration = .milliseconds(200), keyPrefix: String = "shoal:redlock:"
    ) {
        self.pools = servers.map {
            RedisConnectionPool(configuration: $0, pool: RedisPoolConfiguration(leaseTimeout: serverTimeout))
        }
        self.clock = clock
        self.serverTimeout = serverTimeout
        self.driftFactor = driftFactor
        self.retryDelay = retryDelay
        self.keyPrefix = keyPrefix
    }

    /// Closes every server's pool.
    public func close() async {
        for pool in pools { await pool.close() }
    }

    public func tryAcquire(_ name: String, ttl: Duration) async throws -> LockLease? {
        try LockLease.validate(name, ttl: ttl)
        let token = LockLease.randomToken()
        let key = keyPrefix + name
        let started = clock.now()
        let votes = await onEveryServer { pool in
            try await pool.send(
                RESPCommand("SET", key, token, "NX", "PX", RedisLock.milliseconds(ttl)), timeout: self.serverTimeout)
        }
        let validUntil = started + (ttl - drift(ttl))
        let granted = votes.filter { if case .success(let reply) = $0 { reply.string == "OK" } else { false } }.count
        if granted >= quorum && clock.now() < validUntil {
            return LockLease(name: name, token: token, fencingToken: 0, ttl: ttl, confirmedUntil: validUntil)
        }
        await releaseEverywhere(name: name, token: token)
        let unreachable = votes.filter { if case .failure = $0 { true } else { false } }.count
        if unreachable > pools.count - quorum {
            throw LockError(
                .backendFailure,
                "cannot acquire lock '\(name)': \(unreachable) of \(pools.count) Redis servers did not answer")
        }
        return nil
    }

    public func acquire(_ name: String, ttl: Duration, wait: Duration) async throws -> LockLease {
        try LockLease.validate(name, ttl: ttl)
        guard wait >= .zero else { throw LockError(.invalidArgument, "wait must not be negative, not \(wait)") }
        let giveUpAt = clock.now() + wait
        while true {
            if let lease = try await tryAcquire(name, ttl: ttl) { return lease }
            let left = giveUpAt - clock.now()
            guard left > .zero else { throw LockError(.notAcquired, "lock '\(name)' was not free within \(wait)") }
            let pause = Duration.nanoseconds(Int64.random(in: 0...max(retryDelay.totalNanoseconds, 1)))
            try await clock.sleep(until: clock.now() + min(pause, left))
        }
    }

    public func renew(_ lease: LockLease) async throws -> LockLease {
        let key = keyPrefix + lease.name
        let sentAt = clock.now()
        let replies = await onEveryServer { pool in
            try await pool.evaluate(
                RedisLockScripts.renew, keys: [key], arguments: [lease.token, RedisLock.milliseconds(lease.ttl)],
                timeout: self.serverTimeout)
        }
        let renewed = replies.filter { if case .success(.integer(1)) = $0 { true } else { false } }.count
        let refused = replies.filter { if case .success(.integer(0)) = $0 { true } else { false } }.count
        let validUntil = sentAt + (lease.ttl - drift(lease.ttl))
        if renewed >= quorum && clock.now() < validUntil {
            return LockLease(
                name: lease.name, token: lease.token, fencingToken: 0, ttl: lease.ttl, confirmedUntil: validUntil)
        }
        if refused > pools.count - quorum {
            throw LockLost(
                name: lease.name, fencingToken: 0,
                reason: "\(refused) of \(pools.count) Redis servers no longer hold it under this lease")
        }
        throw LockError(
            .backendFailure, "cannot renew lock '\(lease.name)': only \(renewed) of \(pools.count) servers confirmed")
    }

    public func release(_ lease: LockLease) async throws -> LockReleaseOutcome {
        let released = await releaseEverywhere(name: lease.name, token: lease.token)
        return released >= quorum ? .released : .notHeld
    }

    /// Deletes the key wherever `token` holds it; returns on how many servers it did.
    @discardableResult
    private func releaseEverywhere(name: String, token: String) async -> Int {
        let keys = RedisLockKeys(prefix: keyPrefix, name: name)  // no line: the script just deletes
        let replies = await onEveryServer { pool in
            try await pool.evaluate(
                RedisLockScripts.release, keys: keys.all, arguments: [token],
                timeout: self.serverTimeout)
        }
        return replies.filter { if case .success(.integer(1)) = $0 { true } else { false } }.count
    }

    private func drift(_ ttl: Duration) -> Duration {
        .nanoseconds(Int64(Double(ttl.totalNanoseconds) * driftFactor)) + .milliseconds(2)
    }

    /// Runs `command` on every server at once and collects each one's outcome, in order.
    private func onEveryServer(
        _ command: @escaping @Sendable (RedisConnectionPool) async throws -> RESPValue
    ) async -> [Result<RESPValue, any Error>] {
        await withTaskGroup(of: (Int, Result<RESPValue, any Error>).self) { group in
            for (index, pool) in pools.enumerated() {
                group.addTask {
                    do {
                        return (index, .success(try await command(pool)))
                    } catch {
                        return (index, .failure(error))
                    }
                }
            }
            var results = [Result<RESPValue, any Error>](repeating: .failure(CancellationError()), count: pools.count)
            for await (index, result) in group { results[index] = result }
            return results
        }
    }
}
