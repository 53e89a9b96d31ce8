/// Why a call to etcd failed.
public struct EtcdError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong. New codes may be added; switch with a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: String, Hashable, Sendable {
            case unavailable, leaseNotFound, compacted, unauthenticated, invalidArgument, failed
        }
        fileprivate let base: Base
        /// No member answered in time, or none that has a leader (it is partitioned away, or
        /// the cluster has lost its quorum). A write may or may not have been applied.
        public static let unavailable = Code(base: .unavailable)
        /// The lease does not exist: it expired, or was revoked.
        public static let leaseNotFound = Code(base: .leaseNotFound)
        /// A watch asked for a revision that etcd has compacted away: list again, then watch
        /// from the list's revision.
        public static let compacted = Code(base: .compacted)
        /// The user name or password is wrong, or the user lacks the permission.
        public static let unauthenticated = Code(base: .unauthenticated)
        /// An endpoint, key or argument etcd cannot take.
        public static let invalidArgument = Code(base: .invalidArgument)
        /// Another error etcd reported.
        public static let failed = Code(base: .failed)

        public var description: String { base.rawValue }
    }

    /// What kind of failure it was.
    public let code: Code
    /// What happened, in a sentence, with etcd's own words where it gave some.
    public let message: String
    /// For ``Code-swift.struct/compacted``: the oldest revision etcd still has.
    public let compactRevision: Int64?

    /// An error of `code`, saying `message`.
    public init(_ code: Code, _ message: String, compactRevision: Int64? = nil) {
        self.code = code
        self.message = message
        self.compactRevision = compactRevision
    }

    public var description: String { message }
}
