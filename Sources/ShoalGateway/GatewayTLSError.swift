/// The gateway's TLS configuration could not be used (a certificate or key that does not
/// load or does not match).
public struct GatewayTLSError: Error, Sendable, CustomStringConvertible {
    /// What NIOSSL said.
    public let reason: String

    public init(reason: String) {
        self.reason = reason
    }

    public var description: String { "cannot set up TLS: \(reason)" }
}
