import ShoalCore
import Synchronization

/// Locks within one process: the default for single-process use and for `shoal serve`.
///
/// Waiters are served first come, first served. A holder that neither renews nor releases
/// loses the lock when its time-to-live passes on ``clock``, and the next waiter gets it at
/// once. Fencing tokens count up per name from 1.
///
/// ```swift
/// let locks = EmbeddedLock()
/// try await locks.withLock("rebuild-index", ttl: .seconds(10), wait: .seconds(30)) { lease in
///     try await rebuild(fencingToken: lease.fencingToken)
/// }
/// ```
public final class EmbeddedLock: DistributedLock {
    public let clock: any MonotonicClock
    /// Each name's holder, line and fencing counter; names with neither holder nor line are dropped.
    let state = Mutex<[String: Entry]>([:])
    private let nextWaiterID = Atomic<Int>(0)

    struct Entry {
        var holder: Holder?
        var waiters: [Waiter] = []
        var fencing: UInt64 = 0
    }

    struct Holder {
        let token: String
        let fencing: UInt64
        var expiresAt: Int64
    }

    struct Waiter {
        let id: Int
        let ttl: Duration
        let continuation: CheckedContinuation<LockLease, any Error>
    }

    /// A lock service whose leases are timed on `clock` (the system's by default).
    public init(clock: any MonotonicClock = SystemClock()) {
        self.clock = clock
    }

    public func tryAcquire(_ name: String, ttl: Duration) async throws -> LockLease? {
        try LockLease.validate(name, ttl: ttl)
        let now = clock.now()
        return state.withLock { entries in
            var entry = entries[name] ?? Entry()
            defer { entries[name] = entry }
            guard entry.waiters.isEmpty, Self.isFree(entry, at: now) else { return nil }
            return Self.grant(&entry, name: name, ttl: ttl, at: now)
        }
    }

    /// Waits in line for `name`. The waiting is the caller's task, with one child of it that
    /// sleeps on ``clock`` until the holder's lease runs out (handing the lock on) or `wait`
    /// ends: nothing outlives the call.
    public func acquire(_ name: String, ttl: Duration, wait: Duration) async throws -> LockLease {
        try LockLease.validate(name, ttl: ttl)
        guard wait >= .zero else { throw LockError(.invalidArgument, "wait must not be negative, not \(wait)") }
        // A free lock with no one in line is granted without tasks.
        if let lease = try await tryAcquire(name, ttl: ttl) { return lease }
        let id = nextWaiterID.add(1, ordering: .relaxed).newValue
        let deadline = clock.now() + wait
        return try await withThrowingTaskGroup(of: LockLease?.self) { group in
            // The watcher starts once the waiter is in line (or has its answer), so that it
            // never takes a waiter that has not joined yet for one that has left.
            let (joined, join) = AsyncStream<Never>.makeStream()
            group.addTask { try await self.waitInLine(for: name, id: id, ttl: ttl, joined: join) }
            for await _ in joined {}
            group.addTask {
                await self.watch(name, for: id, until: deadline, wait: wait)
                return nil
            }
            while let result = try await group.next() {
                if let lease = result {
                    group.cancelAll()  // the watcher's sleep
                    return lease
                }
            }
            throw CancellationError()  // not reached: the line always ends with a lease or an error
        }
    }

    /// Joins the line for `name` (or takes the lock at once if it is free and no one waits),
    /// and returns when the lock is handed over; leaves the line when cancelled.
    ///
    /// `joined` finishes once the waiter is in line, or has its answer.
    private func waitInLine(
        for name: String, id: Int, ttl: Duration, joined: AsyncStream<Never>.Continuation
    ) async throws -> LockLease {
        defer { joined.finish() }  // a call that throws before joining
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<LockLease, any Error>) in
                let now = clock.now()
                enum Next { case granted(LockLease), cancelled, waiting }
                let next = state.withLock { entries -> Next in
                    var entry = entries[name] ?? Entry()
                    defer { entries[name] = entry }
                    if Task.isCancelled { return .cancelled }
                    if entry.waiters.isEmpty && Self.isFree(entry, at: now) {
                        return .granted(Self.grant(&entry, name: name, ttl: ttl, at: now))
                    }
                    entry.waiters.append(Waiter(id: id, ttl: ttl, continuation: continuation))
                    return .waiting
                }
                joined.finish()
                switch next {
                case .granted(let lease): continuation.resume(returning: lease)
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .waiting: break
                }
            }
        } onCancel: {
            withdraw(waiter: id, from: name, with: CancellationError())
        }
    }

    public func renew(_ lease: LockLease) async throws -> LockLease {
        let now = clock.now()
        let renewed = state.withLock { entries -> LockLease? in
            guard var entry = entries[lease.name], var holder = entry.holder, holder.token == lease.token,
                holder.expiresAt > now.nanoseconds
            else { return nil }
            holder.expiresAt = (now + lease.ttl).nanoseconds
            entry.holder = holder
            entries[lease.name] = entry
            return LockLease(
                name: lease.name, token: lease.token, fencingToken: lease.fencingToken, ttl: lease.ttl,
                confirmedUntil: now + lease.ttl)
        }
        guard let renewed else {
            throw LockLost(
                name: lease.name, fencingToken: lease.fencingToken,
                reason: "the lease expired or was released before it was renewed")
        }
        return renewed
    }

    public func release(_ lease: LockLease) async throws -> LockReleaseOutcome {
        let now = clock.now()
        let (outcome, handOver) = state.withLock { entries -> (LockReleaseOutcome, (Waiter, LockLease)?) in
            guard var entry = entries[lease.name], let holder = entry.holder, holder.token == lease.token else {
                return (.notHeld, nil)
            }
            let wasHeld = holder.expiresAt > now.nanoseconds
            entry.holder = nil
            let next = Self.handOver(&entry, name: lease.name, at: now)
            entries[lease.name] = Self.isEmpty(entry) ? nil : entry
            return (wasHeld ? .released : .notHeld, next)
        }
        if let (waiter, lease) = handOver { waiter.continuation.resume(returning: lease) }
        return outcome
    }

    /// Waiters in line for `name` (for tests and dashboards).
    public func waiterCount(_ name: String) -> Int {
        state.withLock { $0[name]?.waiters.count ?? 0 }
    }

    /// Names with a holder or waiters (for audits: empty when nothing is held).
    public var activeNames: [String] {
        state.withLock { Array($0.keys).sorted() }
    }

    // MARK: - Waiting

    /// While waiter `id` is in line for `name`: sleeps until the holder's lease runs out,
    /// then hands the lock to the first waiter, and fails waiter `id` with
    /// ``LockError/Code-swift.struct/notAcquired`` if it still waits at `deadline`. Returns
    /// when the waiter has left the line, or when cancelled.
    private func watch(_ name: String, for id: Int, until deadline: MonotonicInstant, wait: Duration) async {
        while !Task.isCancelled {
            let now = clock.now()
            enum Step { case sleep(until: MonotonicInstant), timedOut, stop }
            var handOver: (Waiter, LockLease)?
            let step = state.withLock { entries -> Step in
                guard var entry = entries[name], entry.waiters.contains(where: { $0.id == id }) else { return .stop }
                defer { entries[name] = Self.isEmpty(entry) ? nil : entry }
                if Self.isFree(entry, at: now) {
                    entry.holder = nil
                    handOver = Self.handOver(&entry, name: name, at: now)
                }
                if now >= deadline { return .timedOut }
                let expiry = entry.holder.map { MonotonicInstant(nanoseconds: $0.expiresAt) } ?? deadline
                // A waiter ahead may be handed the lock while this one sleeps, with a lease
                // that ends before `expiry`: wake by the shortest lease it could get.
                let shortestAhead = entry.waiters.prefix { $0.id != id }.map(\.ttl).min()
                let ahead = shortestAhead.map { now + $0 } ?? deadline
                return .sleep(until: min(expiry, deadline, ahead))
            }
            if let (waiter, lease) = handOver { waiter.continuation.resume(returning: lease) }
            switch step {
            case .stop:
                return
            case .timedOut:
                withdraw(
                    waiter: id, from: name,
                    with: LockError(.notAcquired, "lock '\(name)' was not acquired within \(wait)"))
                return
            case .sleep(let until):
                try? await clock.sleep(until: until)
            }
        }
    }

    /// Takes waiter `id` out of line, if still there, and fails it with `error`.
    private func withdraw(waiter id: Int, from name: String, with error: any Error) {
        let withdrawn = state.withLock { entries -> Waiter? in
            guard var entry = entries[name], let index = entry.waiters.firstIndex(where: { $0.id == id }) else {
                return nil
            }
            let waiter = entry.waiters.remove(at: index)
            entries[name] = Self.isEmpty(entry) ? nil : entry
            return waiter
        }
        withdrawn?.continuation.resume(throwing: error)
    }

    // MARK: - State

    private static func isFree(_ entry: Entry, at now: MonotonicInstant) -> Bool {
        guard let holder = entry.holder else { return true }
        return holder.expiresAt <= now.nanoseconds
    }

    private static func isEmpty(_ entry: Entry) -> Bool {
        entry.holder == nil && entry.waiters.isEmpty && entry.fencing == 0
    }

    private static func grant(_ entry: inout Entry, name: String, ttl: Duration, at now: MonotonicInstant) -> LockLease
    {
        entry.fencing += 1
        let token = LockLease.randomToken()
        let expires = now + ttl
        entry.holder = Holder(token: token, fencing: entry.fencing, expiresAt: expires.nanoseconds)
        return LockLease(name: name, token: token, fencingToken: entry.fencing, ttl: ttl, confirmedUntil: expires)
    }

    /// Gives a free lock to the first waiter, if any, ending its wait time-out.
    private static func handOver(_ entry: inout Entry, name: String, at now: MonotonicInstant) -> (Waiter, LockLease)? {
        guard entry.holder == nil, !entry.waiters.isEmpty else { return nil }
        let waiter = entry.waiters.removeFirst()
        return (waiter, grant(&entry, name: name, ttl: waiter.ttl, at: now))
    }
}
