import Foundation
import ShoalLock

/// Writes to etcd that commit only while the writer still owns its ``EtcdLock`` lock: etcd's
/// counterpart of ``ShoalLock/FencedRedisWrites``.
///
/// Each write is a transaction that compares the lock's owner key — the key of the lease's
/// holding — with the create revision that is the lease's fencing token. The key exists with
/// that revision exactly as long as the lease holds it: it is deleted when the lease is
/// released or expires, and a new holding gets a new key with a higher revision. The same
/// transaction checks that no key in the lock's line is older than the holding's, so the
/// write also requires that the lease be first in line: the owner. So a holder
/// that stalled past its lease (a pause, a partition) cannot write once it resumes, however
/// late its write arrives, and no token check by the resource is needed.
///
/// ```swift
/// let writes = FencedEtcdWrites(locks: locks)
/// try await locks.withLock("report", ttl: .seconds(10), wait: .seconds(30)) { lease in
///     guard try await writes.put("reports/latest", report, under: lease) == .written else { return }
/// }
/// ```
public struct FencedEtcdWrites: Sendable {
    /// What a fenced write did.
    public enum Outcome: Sendable, Hashable {
        /// The value was written while the lease owned the lock.
        case written
        /// The lease no longer owns the lock; nothing was changed.
        case rejected
    }

    /// The lock service whose leases the writes are fenced by.
    public let locks: EtcdLock

    /// Writes fenced by the leases of `locks`, through its client.
    public init(locks: EtcdLock) {
        self.locks = locks
    }

    /// Writes `value` at `key` if `lease` still owns its lock.
    ///
    /// A write whose answer was lost is repeated on another member: the value is the same,
    /// so a second application changes nothing that matters.
    public func put(_ key: String, _ value: String, under lease: LockLease) async throws -> Outcome {
        try await write([EtcdRequests.put(Data(key.utf8), Data(value.utf8))], under: lease)
    }

    /// Deletes `key` if `lease` still owns its lock.
    public func delete(_ key: String, under lease: LockLease) async throws -> Outcome {
        try await write([EtcdRequests.delete(Data(key.utf8))], under: lease)
    }

    private func write(_ operations: [Etcdserverpb_RequestOp], under lease: LockLease) async throws -> Outcome {
        let owner = Data(locks.key(lease.name, lease: try EtcdLock.leaseID(lease)).utf8)
        let token = Int64(lease.fencingToken)
        var first = EtcdRequests.createRevision(of: Data(locks.folder(lease.name).utf8), is: token - 1)
        first.result = .greater
        first.rangeEnd = Data(prefixRangeEnd(Array(first.key)))
        var request = Etcdserverpb_TxnRequest()
        // The holding's key exists as made (so its lease lives), and no key in line is older.
        request.compare = [EtcdRequests.createRevision(of: owner, is: token), first]
        request.success = operations
        return try await locks.client.txn(request, idempotent: true).succeeded ? .written : .rejected
    }
}
