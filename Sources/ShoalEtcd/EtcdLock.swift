import Foundation
import ShoalCore
import ShoalLock
import Synchronization

/// Locks kept in an etcd cluster, which grants them through Raft: a grant that was
/// answered survives the loss of any minority of members, unlike Redis's asynchronous
/// replication.
///
/// ```swift
/// let locks = EtcdLock(client: etcd)
/// try await locks.withLock("nightly-report", ttl: .seconds(10), wait: .seconds(30)) { lease in
///     try await writes.put("report", report, under: lease)  // FencedEtcdWrites
/// }
/// ```
///
/// etcd's lock recipe, one lease per holding:
/// - **Acquire** grants a lease of the time-to-live (whole seconds, rounded up) and, in one
///   transaction, makes the holder's key `<prefix><name>/<lease>` on it unless it exists, and
///   reads the key with the lowest create revision under `<prefix><name>/`. The holder whose
///   key is lowest owns the lock.
/// - **Waiting** is a line ordered by create revision: each waiter watches only the key
///   just before its own, so a release wakes one waiter, not all (no thundering herd). Its
///   lease is kept alive while it waits.
/// - **Renewal** is a keep-alive of the lease, and a read that the holding's key is still
///   there. **Release** deletes the key (only as this holding made it) and keeps the lease,
///   still alive, for this service's next holding of the same length: a take-and-release cycle
///   is then two writes. A holder that dies stops renewing, its lease expires and etcd deletes
///   its key.
/// - The **fencing token** is the owner key's create revision: etcd's revision only grows,
///   through leader changes too, so each later owner's token is higher.
///
/// As on Redis, ``DistributedLock/withLock(_:ttl:wait:safetyMargin:_:)`` cancels the body
/// when the lease is not confirmed in time, on this process's clock: a holder never works
/// on under a lease that may have expired (the fault Jepsen found in etcd 3.4's own lock
/// service, whose clients kept using a lock after its lease had ended).
public final class EtcdLock: DistributedLock {
    /// The client the locks' calls go through.
    public let client: EtcdClient
    /// The client's clock, on which leases are timed.
    public var clock: any MonotonicClock { client.clock }
    /// Prepended to every lock's name to make its keys. Default `shoal/locks/`.
    public let keyPrefix: String

    /// What this service knows of its leases: when it last saw each confirmed (granted or
    /// renewed by a try sent then), and the leases of released holdings kept for the next.
    private let leases = Mutex(Leases())

    struct Leases {
        /// By lease id: when a try that etcd granted or renewed it was sent. Only this
        /// service's own calls count, never a caller's `LockLease`: that may come from a token.
        var confirmedAt: [Int64: MonotonicInstant] = [:]
        /// Released holdings' leases, by length in whole seconds: each id and until when it
        /// is confirmed (its last confirmation plus its length).
        var spares: [Int64: [(id: Int64, until: MonotonicInstant)]] = [:]
    }
    /// The most spare leases kept of each length.
    static let sparesPerTTL = 4

    /// Locks under `keyPrefix` in the cluster `client` reaches.
    public init(client: EtcdClient, keyPrefix: String = "shoal/locks/") {
        self.client = client
        self.keyPrefix = keyPrefix
    }

    public func tryAcquire(_ name: String, ttl: Duration) async throws -> LockLease? {
        let seconds = try Self.leaseSeconds(name, ttl: ttl)
        let (leaseID, confirmedUntil) = try await leaseForHolding(name, seconds: seconds, ttl: ttl)
        do {
            let place = try await join(name, lease: leaseID)
            guard place.owns else {
                await giveBack(leaseID)
                return nil
            }
            return lease(name, leaseID, fencing: place.revision, ttl: ttl, confirmedUntil: confirmedUntil)
        } catch {
            await giveBack(leaseID)
            throw Self.lockError(error, doing: "acquire lock '\(name)'")
        }
    }

    /// Waits up to `wait` for the lock, in line. A failure of etcd that outlasts the client's
    /// retry window ends the wait with ``LockError/Code-swift.struct/backendFailure``.
    public func acquire(_ name: String, ttl: Duration, wait: Duration) async throws -> LockLease {
        let seconds = try Self.leaseSeconds(name, ttl: ttl)
        guard wait >= .zero else { throw LockError(.invalidArgument, "wait must not be negative, not \(wait)") }
        let giveUpAt = clock.now() + wait
        let (leaseID, confirmedUntil) = try await leaseForHolding(name, seconds: seconds, ttl: ttl)
        do {
            let place = try await join(name, lease: leaseID)
            if place.owns {
                return lease(name, leaseID, fencing: place.revision, ttl: ttl, confirmedUntil: confirmedUntil)
            }
            let confirmedAt = try await waitInLine(
                name, lease: leaseID, revision: place.revision, ttl: ttl, grantedAt: confirmedUntil + (.zero - ttl),
                giveUpAt: giveUpAt, wait: wait)
            let lease = lease(name, leaseID, fencing: place.revision, ttl: ttl, confirmedUntil: confirmedAt + ttl)
            // Kept alive while waiting, but perhaps a while ago: hand over a fresh lease. Even
            // one whose keep-alives failed for longer than its TTL (etcd was electing a leader,
            // which extends every lease): the key still there, as made and first in line, means
            // no one else held the lock meanwhile.
            if lease.confirmedUntil - clock.now() >= ttl / 2 { return lease }
            return try await confirm(lease, within: ttl)
        } catch {
            await giveBack(leaseID)
            throw Self.lockError(error, doing: "acquire lock '\(name)'")
        }
    }

    public func renew(_ lease: LockLease) async throws -> LockLease {
        let sentAt = clock.now()
        guard sentAt < lease.confirmedUntil else {
            throw LockLost(
                name: lease.name, fencingToken: lease.fencingToken,
                reason: "its lease ran out before this renewal (the holder stalled, or etcd answered too slowly)")
        }
        // A renewal confirmed after the lease ran out is no use to a holder: its watchdog has
        // stopped the work by then. Wait no longer than that.
        return try await confirm(lease, within: lease.confirmedUntil - sentAt)
    }

    /// Keeps the lease alive and checks that the holding's key is still there as made; waits
    /// up to `timeout` for etcd.
    private func confirm(_ lease: LockLease, within timeout: Duration) async throws -> LockLease {
        let remaining: Int64?
        let renewedAt: MonotonicInstant
        do {
            (remaining, renewedAt) = try await client.keepAliveTimed(lease: try Self.leaseID(lease), timeout: timeout)
        } catch {
            throw LockError(.backendFailure, "cannot renew lock '\(lease.name)': \(error)")
        }
        guard remaining != nil else {
            forget(try Self.leaseID(lease))
            throw LockLost(
                name: lease.name, fencingToken: lease.fencingToken,
                reason: "etcd no longer has its lease (it expired, and its key with it)")
        }
        confirmed(try Self.leaseID(lease), at: renewedAt)
        // The lease may outlive the holding (kept for the next one after a release, or the key
        // deleted by hand): the holding is its key, as made.
        let holding: EtcdKeyValue?
        do {
            holding = try await client.get(key(lease.name, lease: try Self.leaseID(lease)))
        } catch {
            throw LockError(.backendFailure, "cannot renew lock '\(lease.name)': \(error)")
        }
        guard let holding, holding.createRevision == Int64(lease.fencingToken) else {
            throw LockLost(
                name: lease.name, fencingToken: lease.fencingToken,
                reason: "its key in etcd is gone (it was released, or deleted)")
        }
        return LockLease(
            name: lease.name, token: lease.token, fencingToken: lease.fencingToken, ttl: lease.ttl,
            confirmedUntil: renewedAt + lease.ttl)
    }

    /// Deletes the holding's key, which frees the lock, and keeps its lease for the next
    /// holding of the same time-to-live (see ``leaseForHolding(_:seconds:ttl:)``).
    public func release(_ lease: LockLease) async throws -> LockReleaseOutcome {
        let leaseID = try Self.leaseID(lease)
        // Only this holding's key as it was made: never a later holding's on the same lease.
        let request = EtcdRequests.release(
            Data(key(lease.name, lease: leaseID).utf8), madeAt: Int64(lease.fencingToken))
        let released: Bool
        do {
            // Repeating it after a lost answer finds the key gone, and says not held.
            released = try await client.txn(request, idempotent: true).succeeded
        } catch {
            throw LockError(.backendFailure, "cannot release lock '\(lease.name)': \(error)")
        }
        guard released else { return .notHeld }
        keepSpare(leaseID, seconds: try Self.leaseSeconds(lease.name, ttl: lease.ttl))
        return .released
    }

    /// Releases a holding given up for lost, for up to its TTL: etcd extends every lease when
    /// a new leader takes over, so a holder whose renewals failed through an election may
    /// still have its key, which would block the line until the lease ran out. The release
    /// compares the key's create revision, so it never frees a later holder's lock.
    public func holdingLost(_ lease: LockLease) async {
        let clock = clock
        await withTaskGroup(of: Void.self) { group in
            group.addTask { _ = try? await self.release(lease) }
            group.addTask { try? await clock.sleep(until: clock.now() + lease.ttl) }
            _ = await group.next()
            group.cancelAll()  // gRPC calls end when cancelled
        }
    }

    // MARK: Keys

    /// The folder of lock `name`'s keys: the name with `%` and `/` escaped, so that no name's
    /// folder holds another's.
    func folder(_ name: String) -> String {
        keyPrefix + name.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "/", with: "%2F") + "/"
    }

    /// The key of the holding on `lease`.
    func key(_ name: String, lease: Int64) -> String { folder(name) + Self.token(lease) }

    /// The lease id as the lease's token: 16 hex digits.
    static func token(_ lease: Int64) -> String {
        let digits = String(UInt64(bitPattern: lease), radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    static func leaseID(_ lease: LockLease) throws(LockError) -> Int64 {
        guard lease.token.count == 16, let bits = UInt64(lease.token, radix: 16) else {
            throw LockError(.invalidArgument, "'\(lease.token)' is not a token of an etcd lock")
        }
        return Int64(bitPattern: bits)
    }

    /// The lease's TTL in whole seconds, for a valid name and time-to-live.
    static func leaseSeconds(_ name: String, ttl: Duration) throws(LockError) -> Int64 {
        try LockLease.validate(name, ttl: ttl)
        guard ttl >= .seconds(1) else {
            throw LockError(.invalidArgument, "etcd leases last whole seconds: ttl must be at least 1s, not \(ttl)")
        }
        return ttl.leaseSeconds
    }

    // MARK: Steps

    /// A lease for a new holding, and until when it is confirmed: a lease a released holding
    /// left, when it is confirmed, by this service's own calls, for at least half of `ttl`
    /// more (a cycle of take and release is then two writes, not three); otherwise a new grant.
    private func leaseForHolding(
        _ name: String, seconds: Int64, ttl: Duration
    ) async throws -> (Int64, MonotonicInstant) {
        let now = clock.now()
        let spare = leases.withLock { leases -> (id: Int64, until: MonotonicInstant)? in
            while let spare = leases.spares[seconds]?.popLast() {
                if spare.until >= now + ttl / 2 { return spare }
                leases.confirmedAt[spare.id] = nil  // too close to its end: it lapses by itself
            }
            return nil
        }
        if let spare { return (spare.id, min(spare.until, now + ttl)) }
        do {
            let granted = try await client.grantLeaseTimed(ttl: seconds)
            confirmed(granted.id, at: granted.sentAt)
            return (granted.id, granted.sentAt + ttl)
        } catch {
            throw Self.lockError(error, doing: "acquire lock '\(name)'")
        }
    }

    /// Keeps a released holding's lease for the next holding, if this service saw it
    /// confirmed, up to ``sparesPerTTL`` of each length; more lapse by themselves.
    private func keepSpare(_ leaseID: Int64, seconds: Int64) {
        leases.withLock { leases in
            guard let at = leases.confirmedAt[leaseID] else { return }
            guard leases.spares[seconds, default: []].count < Self.sparesPerTTL else {
                leases.confirmedAt[leaseID] = nil
                return
            }
            leases.spares[seconds, default: []].append((leaseID, at + .seconds(seconds)))
        }
    }

    /// Notes that a try sent at `instant` confirmed the lease.
    private func confirmed(_ leaseID: Int64, at instant: MonotonicInstant) {
        leases.withLock { leases in
            if let known = leases.confirmedAt[leaseID], known >= instant { return }
            leases.confirmedAt[leaseID] = instant
        }
    }

    /// Forgets a lease that ended or was given back.
    private func forget(_ leaseID: Int64) {
        leases.withLock { $0.confirmedAt[leaseID] = nil }
    }

    private func lease(
        _ name: String, _ leaseID: Int64, fencing revision: Int64, ttl: Duration, confirmedUntil: MonotonicInstant
    ) -> LockLease {
        LockLease(
            name: name, token: Self.token(leaseID), fencingToken: UInt64(revision), ttl: ttl,
            confirmedUntil: confirmedUntil)
    }

    /// A holding's place in line: its key's create revision, and whether it is first.
    struct Place {
        let revision: Int64
        let owns: Bool
    }

    /// Makes the holding's key unless it exists (a repeated try finds the first one's) and
    /// reads who is first, in one transaction.
    private func join(_ name: String, lease leaseID: Int64) async throws -> Place {
        let request = EtcdRequests.joinLine(
            Data(key(name, lease: leaseID).utf8), lease: leaseID, folder: Data(folder(name).utf8))
        let response = try await client.txn(request, idempotent: true)
        guard response.responses.count == 2 else {
            throw EtcdError(.failed, "etcd answered the lock's transaction with \(response.responses.count) parts")
        }
        let revision: Int64
        if response.succeeded {
            revision = response.header.revision
        } else {
            guard let mine = response.responses[0].responseRange.kvs.first else {
                throw EtcdError(.failed, "the lock's key vanished while it was made")
            }
            revision = mine.createRevision
        }
        let owner = response.responses[1].responseRange.kvs.first?.createRevision
        return Place(revision: revision, owns: owner == revision)
    }

    /// Waits until no key before the holding's is left, keeping its lease alive meanwhile;
    /// returns when the lease was last confirmed.
    private func waitInLine(
        _ name: String, lease leaseID: Int64, revision: Int64, ttl: Duration, grantedAt: MonotonicInstant,
        giveUpAt: MonotonicInstant, wait: Duration
    ) async throws -> MonotonicInstant {
        let confirmed = ConfirmedInstant(grantedAt)
        let clock = clock
        let client = client
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.waitForPredecessors(name, revision: revision) }
            group.addTask {
                while true {
                    // Every third of the TTL, or sooner when less is confirmed (a lease a
                    // released holding left): halfway to its end.
                    let now = clock.now()
                    let left = confirmed.get() + ttl - now
                    try await clock.sleep(until: now + min(ttl / 3, max(left, .zero) / 2))
                    let (remaining, sentAt) = try await client.keepAliveTimed(lease: leaseID)
                    guard remaining != nil else {
                        throw LockError(
                            .backendFailure, "the lease of a waiter for lock '\(name)' expired while it waited")
                    }
                    confirmed.set(sentAt)
                    self.confirmed(leaseID, at: sentAt)
                }
            }
            group.addTask {
                try await clock.sleep(until: giveUpAt)
                throw LockError(.notAcquired, "lock '\(name)' was not free within \(wait)")
            }
            defer { group.cancelAll() }
            _ = try await group.next()
        }
        return confirmed.get()
    }

    /// Returns once no key under the lock's folder has a create revision below `revision`:
    /// watches the one just before, until it is deleted, and looks again.
    private func waitForPredecessors(_ name: String, revision: Int64) async throws {
        let folder = Data(folder(name).utf8)
        while true {
            var before = EtcdRequests.range(under: folder)
            before.sortTarget = .create
            before.sortOrder = .descend
            before.limit = 1
            before.maxCreateRevision = revision - 1
            let response = try await client.range(before)
            guard let predecessor = response.kvs.first else { return }
            let deleted = try await client.waitForDeletion(
                of: String(decoding: predecessor.key, as: UTF8.self), createRevision: predecessor.createRevision,
                readAt: response.header.revision)
            // The predecessor was the only key before this one (etcd found no more below the
            // limit of one), so it owned the lock: gone, it leaves no one before this key, as
            // every key made since is after it. Otherwise, look again.
            if deleted && !response.more { return }
        }
    }

    /// Revokes a lease that holds nothing now (a try that found the lock held, a wait that
    /// ended); runs to the end even when the caller was cancelled.
    private func giveBack(_ leaseID: Int64) async {
        forget(leaseID)
        let client = client
        // A task of its own, awaited: the caller's cancellation must not stop the revoke.
        await Task { _ = try? await client.revokeLease(leaseID) }.value
    }

    /// What a failure means to the lock's caller.
    static func lockError(_ error: any Error, doing what: String) -> any Error {
        switch error {
        case is LockError, is CancellationError: return error
        default: return LockError(.backendFailure, "cannot \(what): \(error)")
        }
    }
}

/// An instant that one task sets and another reads.
final class ConfirmedInstant: Sendable {
    private let value: Mutex<MonotonicInstant>
    init(_ instant: MonotonicInstant) { value = Mutex(instant) }
    func get() -> MonotonicInstant { value.withLock { $0 } }
    func set(_ instant: MonotonicInstant) { value.withLock { $0 = instant } }
}
