/// Why a registry or discovery call failed.
public struct DiscoveryError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong. New codes may be added; switch with a `default`.
    public struct Code: Hashable, Sendable {
        fileprivate enum Base: Hashable, Sendable { case invalidArgument, notFound, backendFailure }
        fileprivate let base: Base
        /// A field of an instance or a time-to-live is not acceptable (``DiscoveryError/field``).
        public static let invalidArgument = Code(base: .invalidArgument)
        /// No such instance.
        public static let notFound = Code(base: .notFound)
        /// The backend (Redis) could not be reached or failed.
        public static let backendFailure = Code(base: .backendFailure)
    }

    public let code: Code
    /// The field at fault, for ``Code-swift.struct/invalidArgument``.
    public let field: String?
    public let message: String

    public init(_ code: Code, field: String? = nil, _ message: String) {
        self.code = code
        self.field = field
        self.message = field.map { "\($0) \(message)" } ?? message
    }

    public var description: String { message }
}
