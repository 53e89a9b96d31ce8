import NIOCore
import NIOPosix
import ShoalCore
import ShoalRESP
import ShoalRedis

/// Locks shared by every process that reaches one Redis server.
///
/// ```swift
/// let locks = RedisLock(configuration: RedisConfiguration(host: "10.0.0.5", port: 6379))
/// try await locks.withLock("nightly-report", ttl: .seconds(10), wait: .seconds(30)) { lease in
///     try await store.write(report, fencingToken: lease.fencingToken)
/// }
/// ```
///
/// - **Acquire** is one Lua script: `SET key token NX PX ttl` in effect, with a random
///   128-bit token, and `INCR` of the lock's fencing counter.
/// - **Release** acts only if the key still holds this lease's token, so a late release
///   never touches the next holder's lock. With waiters in line, it hands the lock straight
///   to the first (the key takes its token, the counter its fencing token) and publishes
///   that; the waiter holds the lock without another round trip. Otherwise it deletes the key.
/// - **Renewal** extends the key only if it still holds the token
///   (``DistributedLock/withLock(_:ttl:wait:safetyMargin:_:)`` renews every ttl/3).
/// - **Waiting** is a line kept in Redis, served first come, first served across all
///   processes. A waiter sleeps until the hand-over notice for it arrives by pub/sub, or
///   the holder's key is due to expire, or ``fallbackInterval`` passes (a notice can be
///   lost while the subscriber reconnects), then tries again; a try also finds a lock that
///   was handed over unseen. Each try also renews its place in
///   line; a waiter that stops trying (crashed, paused) loses its place after
///   ``placeTimeToLive``, so it holds up the others no longer than that.
/// - **Cancelling** a wait, or a wait that runs out, takes the waiter out of line and drops
///   its subscription.
///
/// Fencing tokens strictly increase per name: each grant moves the lock's counter to the
/// larger of one more than before and the server's clock in microseconds. Tokens therefore
/// keep rising when the counter goes back: a restart from an older snapshot, a replica
/// promoted before it had the last grants, a restart with no data; the server's clock must
/// not be behind the last grant's by more than the time the restart or failover took.
/// Holders learn that Redis lost their lock at their next renewal. With
/// ``minimumReplicas`` above zero, a grant counts only once that many replicas have it
/// (`WAIT`); see <doc:RedisLockGuarantees> for what each setting promises.
public final class RedisLock: DistributedLock {
    public let clock: any MonotonicClock
    /// The connections commands go over.
    public let pool: RedisConnectionPool
    /// The connection release notices come over.
    public let subscriber: RedisSubscriber
    /// Prepended to every lock name to make its keys. Default `shoal:lock:`.
    public let keyPrefix: String
    /// The longest a waiter sleeps between tries when no notice comes. Default 250 ms.
    public let fallbackInterval: Duration
    /// How long a waiter's place in line lasts without a try. Default 4 × ``fallbackInterval``.
    public let placeTimeToLive: Duration
    /// The channel this lock service's waiters hear hand-overs on (`<prefix>notices:<random>`).
    public let noticeChannel: String
    /// How many replicas must have a grant before it is returned (`WAIT`). Default 0: a grant
    /// is returned as soon as the primary made it. When fewer confirm within
    /// ``replicaTimeout``, the lock is given back and the call throws
    /// ``LockError/Code-swift.struct/notReplicated``.
    public let minimumReplicas: Int
    /// How long a grant waits for ``minimumReplicas``. Default 500 ms.
    public let replicaTimeout: Duration

    /// Locks on the server `configuration` names, with a pool and a subscriber of their own
    /// on one event loop: callers that run on ``RedisConnectionPool/taskExecutor`` of
    /// ``pool`` take and release locks without thread hops.
    public convenience init(
        configuration: RedisConfiguration, pool: RedisPoolConfiguration = RedisPoolConfiguration(),
        clock: any MonotonicClock = SystemClock(), keyPrefix: String = "shoal:lock:",
        fallbackInterval: Duration = .milliseconds(250), minimumReplicas: Int = 0,
        replicaTimeout: Duration = .milliseconds(500)
    ) {
        let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        self.init(
            pool: RedisConnectionPool(configuration: configuration, pool: pool, eventLoop: eventLoop, clock: clock),
            subscriber: RedisSubscriber(configuration: configuration, eventLoop: eventLoop), clock: clock,
            keyPrefix: keyPrefix, fallbackInterval: fallbackInterval, minimumReplicas: minimumReplicas,
            replicaTimeout: replicaTimeout)
    }

    /// Locks over a pool and a subscriber that reach the same server.
    public init(
        pool: RedisConnectionPool, subscriber: RedisSubscriber, clock: any MonotonicClock = SystemClock(),
        keyPrefix: String = "shoal:lock:", fallbackInterval: Duration = .milliseconds(250), minimumReplicas: Int = 0,
        replicaTimeout: Duration = .milliseconds(500)
    ) {
        self.minimumReplicas = max(0, minimumReplicas)
        self.replicaTimeout = replicaTimeout
        self.pool = pool
        self.subscriber = subscriber
        self.clock = clock
        self.keyPrefix = keyPrefix
        self.fallbackInterval = fallbackInterval
        self.placeTimeToLive = fallbackInterval * 4
        self.noticeChannel = keyPrefix + "notices:" + LockLease.randomToken()
    }

    /// Closes the pool and the subscriber.
    public func close() async {
        await pool.close()
        await subscriber.close()
    }

    public func tryAcquire(_ name: String, ttl: Duration) async throws -> LockLease? {
        try LockLease.validate(name, ttl: ttl)
        try RedisLockKeys.checkName(name)
        switch try await attempt(name, token: LockLease.randomToken(), ttl: ttl, queue: false).outcome {
        case .granted(let lease): return try await replicated(lease)
        case .held: return nil
        }
    }

    /// Waits up to `wait` for the lock. While Redis cannot be reached, or fails over, the
    /// wait goes on: each failed try is followed by another after a back-off, with the same
    /// token, so a grant whose reply was lost is found and kept. Only when the wait runs out
    /// is the last failure thrown (``LockError/Code-swift.struct/backendFailure``).
    public func acquire(_ name: String, ttl: Duration, wait: Duration) async throws -> LockLease {
        try LockLease.validate(name, ttl: ttl)
        try RedisLockKeys.checkName(name)
        guard wait >= .zero else { throw LockError(.invalidArgument, "wait must not be negative, not \(wait)") }
        let token = LockLease.randomToken()
        let giveUpAt = clock.now() + wait
        var failures = 0
        while true {
            do {
                return try await acquire(name, token: token, ttl: ttl, wait: wait, giveUpAt: giveUpAt)
            } catch let error as LockError where error.code == .backendFailure {
                let resumeAt = clock.now() + pool.pool.backoff.delay(attempt: failures)
                failures += 1
                guard resumeAt < giveUpAt else { throw error }
                try await clock.sleep(until: resumeAt)
            }
        }
    }

    /// One wait for the lock, which a failure of Redis ends.
    private func acquire(
        _ name: String, token: String, ttl: Duration, wait: Duration, giveUpAt: MonotonicInstant
    ) async throws -> LockLease {
        let keys = RedisLockKeys(prefix: keyPrefix, name: name)
        // Free with nobody in line: one round trip, no subscription. Skipped when the release
        // notices are subscribed already (this process waited for the lock a moment ago):
        // then the first try below is as quick and also joins the line.
        if !subscriber.isSubscribed(to: noticeChannel),
            case .granted(let lease) = try await attempt(name, token: token, ttl: ttl, queue: false).outcome
        {
            return try await replicated(lease)
        }
        let doorbell = Doorbell(eventLoop: pool.eventLoop)
        let listener: RedisSubscriber.Listener
        do {
            listener = try await subscriber.listen(to: noticeChannel) { event in
                switch event {
                case .resubscribed:
                    doorbell.ring()
                case .message(let message):
                    let notice = String(buffer: message.payload).split(separator: " ")
                    guard notice.first.map({ $0 == token }) ?? false else { return }
                    doorbell.ring(handing: notice.count > 1 ? UInt64(notice[1]) : nil)
                }
            }
        } catch {
            throw LockError(.backendFailure, "cannot wait for lock '\(name)': \(error)")
        }
        defer { listener.cancel() }
        do {
            while true {
                try Task.checkCancellation()
                let (outcome, sentAt) = try await attempt(name, token: token, ttl: ttl, queue: true)
                switch outcome {
                case .granted(let lease):
                    return try await replicated(lease)
                case .held(let expiresIn):
                    let now = clock.now()
                    guard now < giveUpAt else {
                        throw LockError(.notAcquired, "lock '\(name)' was not free within \(wait)")
                    }
                    var pause = min(fallbackInterval, giveUpAt - now)
                    if let expiresIn { pause = min(pause, expiresIn) }
                    try await doorbell.wait(upTo: pause)
                    if let fencingToken = doorbell.handed {
                        return try await replicated(
                            handedOver(name, token: token, fencingToken: fencingToken, ttl: ttl, after: sentAt))
                    }
                }
            }
        } catch {
            await leaveLine(keys, token: token)
            throw error
        }
    }

    /// The lease of a lock the last holder handed over. The hand-over came after the last
    /// try was sent (that try found the lock held) and gave the key `ttl`: the lease is
    /// confirmed that long from the try. If the try was so long ago that less than half of
    /// `ttl` is left, the lease is renewed before it is returned.
    private func handedOver(
        _ name: String, token: String, fencingToken: UInt64, ttl: Duration, after sentAt: MonotonicInstant
    ) async throws -> LockLease {
        let lease = LockLease(
            name: name, token: token, fencingToken: fencingToken, ttl: ttl, confirmedUntil: sentAt + ttl)
        if lease.confirmedUntil - clock.now() >= ttl / 2 { return lease }
        return try await renew(lease)
    }

    public func renew(_ lease: LockLease) async throws -> LockLease {
        let keys = RedisLockKeys(prefix: keyPrefix, name: lease.name)
        let sentAt = clock.now()
        // Past its confirmed end, the lease may already be someone else's: renewing cannot
        // make that safe again, whatever Redis would answer.
        guard sentAt < lease.confirmedUntil else {
            throw LockLost(
                name: lease.name, fencingToken: lease.fencingToken,
                reason: "its lease ran out before this renewal (the holder stalled, or Redis answered too slowly)")
        }
        // A renewal confirmed after the lease ran out is no use: wait no longer than that.
        let timeout = lease.confirmedUntil - sentAt
        let reply: RESPValue
        do {
            reply = try await pool.evaluate(
                RedisLockScripts.renew, keys: [keys.lock], arguments: [lease.token, Self.milliseconds(lease.ttl)],
                timeout: timeout)
        } catch {
            throw LockError(.backendFailure, "cannot renew lock '\(lease.name)': \(error)")
        }
        guard reply == .integer(1) else {
            throw LockLost(
                name: lease.name, fencingToken: lease.fencingToken,
                reason: "Redis no longer holds it under this lease (it expired, or the server lost its data)")
        }
        return LockLease(
            name: lease.name, token: lease.token, fencingToken: lease.fencingToken, ttl: lease.ttl,
            confirmedUntil: sentAt + lease.ttl)
    }

    public func release(_ lease: LockLease) async throws -> LockReleaseOutcome {
        let keys = RedisLockKeys(prefix: keyPrefix, name: lease.name)
        let reply: RESPValue
        do {
            reply = try await pool.evaluate(
                RedisLockScripts.release, keys: keys.all, arguments: [lease.token])
        } catch {
            throw LockError(.backendFailure, "cannot release lock '\(lease.name)': \(error)")
        }
        return reply == .integer(1) ? .released : .notHeld
    }

    private enum Attempt {
        case granted(LockLease)
        /// Held by another, or another is first in line; when the holder's key expires.
        case held(expiresIn: Duration?)
    }

    /// One try; also returns when it was sent.
    private func attempt(
        _ name: String, token: String, ttl: Duration, queue: Bool
    ) async throws -> (outcome: Attempt, sentAt: MonotonicInstant) {
        let keys = RedisLockKeys(prefix: keyPrefix, name: name)
        let sentAt = clock.now()
        let reply: RESPValue
        do {
            reply = try await pool.evaluate(
                RedisLockScripts.acquire, keys: keys.all,
                arguments: [
                    token, Self.milliseconds(ttl), queue ? "1" : "", Self.milliseconds(placeTimeToLive), noticeChannel,
                ])
        } catch {
            if Task.isCancelled { throw CancellationError() }
            throw LockError(.backendFailure, "cannot acquire lock '\(name)': \(error)")
        }
        guard case .array(let parts) = reply, parts.count == 2, case .integer(let granted) = parts[0],
            case .integer(let value) = parts[1]
        else {
            throw LockError(.backendFailure, "unexpected reply from Redis to acquiring lock '\(name)': \(reply)")
        }
        if granted == 1 {
            let lease = LockLease(
                name: name, token: token, fencingToken: UInt64(max(value, 0)), ttl: ttl, confirmedUntil: sentAt + ttl)
            return (.granted(lease), sentAt)
        }
        return (.held(expiresIn: value > 0 ? .milliseconds(value) : nil), sentAt)
    }

    /// Takes a waiter out of line, and gives back (hands on) the lock in case it was handed
    /// over, or the last try took it but its reply never arrived (cancelled or timed out in
    /// flight). Runs to the end even when the caller was cancelled.
    private func leaveLine(_ keys: RedisLockKeys, token: String) async {
        let pool = pool
        await Task {
            _ = try? await pool.evaluate(RedisLockScripts.leave, keys: keys.all, arguments: [token])
            _ = try? await pool.evaluate(RedisLockScripts.release, keys: keys.all, arguments: [token])
        }.value
    }

    static func milliseconds(_ duration: Duration) -> String {
        String(max(1, (duration.totalNanoseconds + 999_999) / 1_000_000))
    }
}
