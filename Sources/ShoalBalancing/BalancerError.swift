import ShoalCore

/// Why a balancer could not be built or updated, or why nothing could be picked. The
/// ``message`` names the endpoint or setting at fault.
public struct BalancerError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong. New codes may be added; switch with a `default`.
    public struct Code: Hashable, Sendable {
        fileprivate enum Base: Hashable, Sendable {
            case emptyEndpointSet, invalidWeight, duplicateEndpoint, invalidConfiguration, noEligibleEndpoint
        }
        fileprivate let base: Base

        /// A balancer was built with no endpoints.
        public static let emptyEndpointSet = Code(base: .emptyEndpointSet)
        /// An endpoint's weight is not a finite number greater than zero.
        public static let invalidWeight = Code(base: .invalidWeight)
        /// Two endpoints have the same address.
        public static let duplicateEndpoint = Code(base: .duplicateEndpoint)
        /// A strategy or health setting is out of range.
        public static let invalidConfiguration = Code(base: .invalidConfiguration)
        /// Every endpoint is ineligible (circuit breakers open, or nothing healthy with panic
        /// mode off), or there are none.
        public static let noEligibleEndpoint = Code(base: .noEligibleEndpoint)
    }

    /// What went wrong.
    public let code: Code
    /// A sentence naming the value at fault.
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    static let nothingEligible = BalancerError(.noEligibleEndpoint, "no endpoint is eligible for a request")
}
