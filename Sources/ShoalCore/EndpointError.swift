/// Why a text or a set of values does not describe a usable ``Endpoint``.
///
/// The ``description`` says what was wrong and what form is expected, so tools can print it
/// as it is.
public struct EndpointError: Error, Hashable, Sendable {
    /// What was wrong. New codes may be added; switch with a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: Hashable, Sendable {
            case malformed, emptyHost, missingPort, portOutOfRange, invalidWeight
        }
        fileprivate let base: Base
        fileprivate init(_ base: Base) { self.base = base }

        /// The text is not of the form `HOST:PORT[=WEIGHT]`.
        public static let malformed = Code(.malformed)
        /// The host part is empty.
        public static let emptyHost = Code(.emptyHost)
        /// There is no `:PORT`, or the port is not a number.
        public static let missingPort = Code(.missingPort)
        /// The port is outside `0 ... 65535`.
        public static let portOutOfRange = Code(.portOutOfRange)
        /// The weight is not a finite number greater than zero.
        public static let invalidWeight = Code(.invalidWeight)

        public var description: String {
            switch base {
            case .malformed: "is not of the form HOST:PORT[=WEIGHT] (IPv6 hosts in brackets: [::1]:6379)"
            case .emptyHost: "has an empty host; expected HOST:PORT[=WEIGHT]"
            case .missingPort: "has no numeric port; expected HOST:PORT[=WEIGHT]"
            case .portOutOfRange: "has a port outside 0...65535"
            case .invalidWeight: "has a weight that is not a finite number greater than 0"
            }
        }
    }

    /// What was wrong.
    public let code: Code
    /// The text or value that was rejected.
    public let input: String

    public init(_ code: Code, input: String) {
        self.code = code
        self.input = input
    }
}

extension EndpointError: CustomStringConvertible {
    public var description: String { "'\(input)' \(code)" }
}
