import Foundation
import ShoalLock

extension EtcdLock: LockListing {
    /// Reads every holding under ``keyPrefix`` in one range, and the time left on each
    /// owner's lease; a lock whose owner's lease ended meanwhile is left out.
    public func heldLocks() async throws -> [HeldLock] {
        let keys: [EtcdKeyValue]
        do {
            keys = try await client.list(prefix: keyPrefix).keyValues
        } catch {
            throw LockError(.backendFailure, "cannot list locks: \(error)")
        }
        var byName: [String: [EtcdKeyValue]] = [:]
        for key in keys {
            let path = key.keyString.dropFirst(keyPrefix.count)
            guard let slash = path.lastIndex(of: "/") else { continue }
            byName[Self.unescaped(path[..<slash]), default: []].append(key)
        }
        var held: [HeldLock] = []
        for (name, holdings) in byName {
            guard let owner = holdings.min(by: { $0.createRevision < $1.createRevision }) else { continue }
            let remaining: Int64?
            do {
                remaining = try await client.timeToLive(lease: owner.lease)
            } catch {
                throw LockError(.backendFailure, "cannot list locks: \(error)")
            }
            guard let remaining else { continue }
            held.append(
                HeldLock(
                    name: name, fencingToken: UInt64(owner.createRevision), expiresIn: .seconds(remaining),
                    waiters: holdings.count - 1))
        }
        return held.sorted { $0.name < $1.name }
    }

    /// A name as ``folder(_:)`` escaped it.
    static func unescaped(_ escaped: Substring) -> String {
        escaped.replacingOccurrences(of: "%2F", with: "/").replacingOccurrences(of: "%25", with: "%")
    }
}
