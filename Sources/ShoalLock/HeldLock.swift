/// A lock that has a holder now, as a listing shows it: never the holder's token.
public struct HeldLock: Sendable, Hashable {
    /// The lock's name.
    public let name: String
    /// The holder's fencing token.
    public let fencingToken: UInt64
    /// How long until the lease runs out unless renewed.
    public let expiresIn: Duration
    /// How many wait in line for it.
    public let waiters: Int

    public init(name: String, fencingToken: UInt64, expiresIn: Duration, waiters: Int) {
        self.name = name
        self.fencingToken = fencingToken
        self.expiresIn = expiresIn
        self.waiters = waiters
    }
}

/// A lock service that can list the locks held now, for dashboards and audits.
public protocol LockListing: Sendable {
    /// The locks with a live holder, by name.
    func heldLocks() async throws -> [HeldLock]
}
