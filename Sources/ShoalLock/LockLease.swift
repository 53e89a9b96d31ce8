import ShoalCore

/// Proof of holding a lock, until it is released, lost or expires.
public struct LockLease: Sendable, Hashable {
    /// The lock's name.
    public let name: String
    /// A random token that only this holding knows; release and renewal present it, so no
    /// one can release or extend a lock they do not hold.
    public let token: String
    /// Strictly increasing per lock name: pass it to resources that check fencing tokens,
    /// so a holder that lost the lock without knowing cannot overwrite a newer holder's work.
    public let fencingToken: UInt64
    /// How long the lock is held without renewal.
    public let ttl: Duration
    /// Until when the holding was confirmed, on the holder's clock.
    public let confirmedUntil: MonotonicInstant

    public init(name: String, token: String, fencingToken: UInt64, ttl: Duration, confirmedUntil: MonotonicInstant) {
        self.name = name
        self.token = token
        self.fencingToken = fencingToken
        self.ttl = ttl
        self.confirmedUntil = confirmedUntil
    }
}

/// What ``DistributedLock/release(_:)`` found.
public enum LockReleaseOutcome: Sendable, Hashable {
    /// The lock was held with this lease and is free now.
    case released
    /// The lease was no longer the holder (it expired, and perhaps another holds the lock
    /// now); nothing was changed.
    case notHeld
}

/// The lock was lost while its holder still worked: renewal failed, or the time-to-live
/// passed without a confirmed renewal. ``DistributedLock/withLock(_:ttl:wait:safetyMargin:_:)``
/// cancels the body and throws this.
public struct LockLost: Error, Hashable, Sendable, CustomStringConvertible {
    public let name: String
    public let fencingToken: UInt64
    /// Why, in a sentence.
    public let reason: String

    public init(name: String, fencingToken: UInt64, reason: String) {
        self.name = name
        self.fencingToken = fencingToken
        self.reason = reason
    }

    /// The lease's time-to-live passed, less the safety margin, with no renewal confirmed.
    init(unconfirmed lease: LockLease) {
        self.init(
            name: lease.name, fencingToken: lease.fencingToken,
            reason: "its time-to-live passed without a confirmed renewal")
    }

    public var description: String { "lock '\(name)' (fencing token \(fencingToken)) was lost: \(reason)" }
}

/// Why a lock could not be taken.
public struct LockError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong. New codes may be added; switch with a `default`.
    public struct Code: Hashable, Sendable {
        fileprivate enum Base: Hashable, Sendable { case notAcquired, invalidArgument, backendFailure, notReplicated }
        fileprivate let base: Base
        /// Another holder kept the lock for the whole wait.
        public static let notAcquired = Code(base: .notAcquired)
        /// A time-to-live or wait that is not positive, or an empty name.
        public static let invalidArgument = Code(base: .invalidArgument)
        /// The backend (Redis) could not be reached or failed.
        public static let backendFailure = Code(base: .backendFailure)
        /// The backend granted the lock, but fewer replicas than asked for confirmed the
        /// grant in time (``RedisLock/minimumReplicas``); the lock was given back.
        public static let notReplicated = Code(base: .notReplicated)
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
