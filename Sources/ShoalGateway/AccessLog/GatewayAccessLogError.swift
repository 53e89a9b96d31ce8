/// The gateway could not open its access log.
public struct GatewayAccessLogError: Error, Sendable, CustomStringConvertible {
    /// The file it tried.
    public let path: String
    /// What the system said.
    public let reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "cannot open the access log '\(path)': \(reason)" }
}
