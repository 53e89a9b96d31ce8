/// The gateway could not listen on its address (taken, or not this machine's).
public struct GatewayListenError: Error, Sendable, CustomStringConvertible {
    /// The address it tried, `HOST:PORT`.
    public let address: String
    /// What the system said.
    public let reason: String

    public init(address: String, reason: String) {
        self.address = address
        self.reason = reason
    }

    public var description: String { "cannot listen on \(address): \(reason)" }
}
