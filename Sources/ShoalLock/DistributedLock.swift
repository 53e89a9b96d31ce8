import ShoalCore

/// A named lock that any number of holders contend for: in one process (``EmbeddedLock``)
/// or across processes through a shared backend.
///
/// Prefer ``withLock(_:ttl:wait:safetyMargin:_:)``, which renews the lease while the body
/// runs and cancels the body if the lease is lost. The lower-level calls are for tools.
public protocol DistributedLock: Sendable {
    /// The clock lease times are measured on.
    var clock: any MonotonicClock { get }

    /// Takes the lock if it is free and nobody is waiting for it; `nil` otherwise.
    func tryAcquire(_ name: String, ttl: Duration) async throws -> LockLease?

    /// Takes the lock, waiting in line (first come, first served) for up to `wait`.
    ///
    /// - Throws: ``LockError`` with ``LockError/Code-swift.struct/notAcquired`` after `wait`;
    ///   `CancellationError` if the task is cancelled while waiting (leaving no trace).
    func acquire(_ name: String, ttl: Duration, wait: Duration) async throws -> LockLease

    /// Extends the lease by its time-to-live from now.
    ///
    /// - Throws: ``LockLost`` when the lease is no longer the holder. The Redis backend also
    ///   throws it, without asking Redis, for a lease whose confirmed time has run out on this
    ///   process's clock: another holder may have the lock by then.
    func renew(_ lease: LockLease) async throws -> LockLease

    /// Releases the lock if the lease still holds it; never touches another holder's lock.
    func release(_ lease: LockLease) async throws -> LockReleaseOutcome

    /// Called by ``hold(_:safetyMargin:_:)`` when it gave the lease up for lost, once the body
    /// has returned and before it throws ``LockLost``. A backend whose leases can outlive a
    /// renewal that was not confirmed in time frees the lock here, so that the next holder
    /// need not wait for the lease to expire; it should give up within the lease's
    /// time-to-live. The default does nothing: a lost Redis or embedded lease has expired, or
    /// soon will.
    func holdingLost(_ lease: LockLease) async
}

extension DistributedLock {
    public func holdingLost(_ lease: LockLease) async {}

    /// Runs `body` while holding the lock `name`, renewing the lease every `ttl / 3`.
    ///
    /// ```swift
    /// try await locks.withLock("nightly-report", ttl: .seconds(10), wait: .seconds(30)) { lease in
    ///     try await store.write(report, fencingToken: lease.fencingToken)
    /// }
    /// ```
    ///
    /// If a renewal fails, or the time-to-live minus `safetyMargin` passes on this process's
    /// clock without a confirmed renewal, the body's task is cancelled and, once the body has
    /// returned, the call throws ``LockLost`` (after ``holdingLost(_:)``). The lock is
    /// released when the body ends.
    ///
    /// - Parameter safetyMargin: how long before the lease's end, as last confirmed, it is
    ///   given up for lost (clock drift and pauses). Default: a tenth of `ttl`.
    public func withLock<Result: Sendable>(
        _ name: String, ttl: Duration, wait: Duration, safetyMargin: Duration? = nil,
        _ body: @escaping @Sendable (LockLease) async throws -> Result
    ) async throws -> Result {
        let lease = try await acquire(name, ttl: ttl, wait: wait)
        return try await hold(lease, safetyMargin: safetyMargin, body)
    }

    /// Runs `body` while holding a lease already taken, renewing it every `ttl / 3`, and
    /// releases it when the body ends; as ``withLock(_:ttl:wait:safetyMargin:_:)`` does after
    /// acquiring. For tools that must know whether the lock was taken before they start work.
    ///
    /// - Throws: ``LockLost`` (after cancelling the body and waiting for it to return) when
    ///   the lease is lost; otherwise what `body` threw.
    public func hold<Result: Sendable>(
        _ lease: LockLease, safetyMargin: Duration? = nil,
        _ body: @escaping @Sendable (LockLease) async throws -> Result
    ) async throws -> Result {
        let margin = safetyMargin ?? lease.ttl / 10
        let outcome = await withTaskGroup(of: HoldingEvent<Result>.self) { group in
            group.addTask {
                do {
                    return .finished(.success(try await body(lease)))
                } catch {
                    return .finished(.failure(error))
                }
            }
            group.addTask { await keepRenewing(lease, margin: margin) }
            var finished: Swift.Result<Result, any Error>?
            var lost: LockLost?
            while let event = await group.next() {
                switch event {
                case .finished(let result):
                    finished = result
                    group.cancelAll()  // stops the watchdog
                case .lost(let reason):
                    lost = reason
                    group.cancelAll()  // cancels the body; wait for it to return
                case .stopped:
                    break
                }
            }
            if let lost { return Swift.Result<Result, any Error>.failure(lost) }
            return finished ?? .failure(CancellationError())
        }
        if case .failure(let error) = outcome, error is LockLost {
            await holdingLost(lease)
            throw error
        }
        _ = try? await release(lease)
        return try outcome.get()
    }

    /// Renews every ttl/3 until cancelled; reports a loss when a renewal is refused or the
    /// confirmed end, less the margin, passes.
    private func keepRenewing<Result>(_ lease: LockLease, margin: Duration) async -> HoldingEvent<Result> {
        var current = lease
        while true {
            let giveUpAt = current.confirmedUntil + (.zero - margin)
            // Every third of the TTL, or sooner when less is confirmed (a lease handed over
            // by the last holder): halfway to giving up.
            let now = clock.now()
            let next = min(now + lease.ttl / 3, now + max(giveUpAt - now, .zero) / 2)
            do {
                try await clock.sleep(until: next)
            } catch {
                return .stopped
            }
            if clock.now() >= giveUpAt { return .lost(LockLost(unconfirmed: lease)) }
            switch await renewal(of: current, giveUpAt: giveUpAt) {
            case .renewed(let renewed): current = renewed
            case .lost(let lost): return .lost(lost)
            case .stopped: return .stopped
            case .failed: continue  // the backend failed this time: try again until the lease runs out
            }
        }
    }

    /// Renews once, giving up when `giveUpAt` comes first (a backend that does not answer).
    private func renewal(of lease: LockLease, giveUpAt: MonotonicInstant) async -> RenewalOutcome {
        await withTaskGroup(of: RenewalOutcome.self) { group in
            group.addTask {
                do {
                    return .renewed(try await renew(lease))
                } catch let lost as LockLost {
                    return .lost(lost)
                } catch {
                    return Task.isCancelled ? .stopped : .failed
                }
            }
            group.addTask {
                do {
                    try await clock.sleep(until: giveUpAt)
                } catch {
                    return .stopped
                }
                return .lost(LockLost(unconfirmed: lease))
            }
            let first = await group.next() ?? .stopped
            group.cancelAll()
            return first
        }
    }
}

/// How one renewal went.
enum RenewalOutcome: Sendable {
    case renewed(LockLease)
    case lost(LockLost)
    case stopped
    case failed
}

/// What happened first while a lock was held.
enum HoldingEvent<Result: Sendable>: Sendable {
    case finished(Swift.Result<Result, any Error>)
    case lost(LockLost)
    case stopped
}
