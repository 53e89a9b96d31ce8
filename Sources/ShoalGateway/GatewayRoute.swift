import ShoalBalancing

/// Where the gateway sends requests whose host and path match, and how.
///
/// A request matches when its `Host` (without the port) equals ``host`` (or ``host`` is `nil`)
/// and its path starts with ``prefix`` at a segment boundary: `/api` matches `/api`,
/// `/api/` and `/api/orders`, not `/apiary`. Of the matching routes, the one with the
/// longest prefix wins, a route with a host before one without.
public struct GatewayRoute: Sendable, Hashable {
    /// The `Host` to match, lower case, without a port; `nil` matches any.
    public var host: String?
    /// The path prefix, starting with `/`.
    public var prefix: String
    /// The service, as registered, that serves the route.
    public var service: String
    /// Whether the prefix is removed before the request goes upstream (`/api/orders/7` on
    /// prefix `/api` goes up as `/orders/7`).
    public var stripPrefix: Bool
    /// How an instance is chosen.
    public var strategy: BalancingStrategy
    /// The longest one try may wait for the response's head.
    public var perTryTimeout: Duration
    /// The longest the gateway waits for a response's head, over all tries.
    public var timeout: Duration
    /// Tries after the first, each to a different instance, for idempotent requests without
    /// a body, and only while the retry budget allows.
    public var retries: Int
    /// The largest request body accepted; larger gets 413.
    public var maxBodyBytes: Int
    /// How the gateway talks to the route's instances.
    public var upstreamProtocol: UpstreamProtocol
    /// The `grpc-status` codes of a gRPC response after which the call is tried again on
    /// another instance, while no byte of the response reached the client (and ``retries``
    /// and the retry budget allow). None by default: an instance that answered may have run
    /// the call.
    public var retryGRPCStatuses: [Int]
    /// Whether a path may hold an encoded slash or backslash (`%2F`, `%5C`) or a raw
    /// backslash. Refused with 400 by default: an instance that decodes them, or reads `\\` as
    /// a separator, would see a path other than the one the gateway routed.
    public var allowsEncodedSlashes: Bool

    /// The defaults of a route's settings.
    public static let defaultPerTryTimeout = Duration.seconds(15)
    public static let defaultTimeout = Duration.seconds(30)
    public static let defaultRetries = 2
    public static let defaultMaxBodyBytes = 1 << 30

    /// A route; the defaults are those of `shoal serve --route`.
    public init(
        host: String? = nil, prefix: String, service: String, stripPrefix: Bool = false,
        strategy: BalancingStrategy = .standard, perTryTimeout: Duration = defaultPerTryTimeout,
        timeout: Duration = defaultTimeout, retries: Int = defaultRetries, maxBodyBytes: Int = defaultMaxBodyBytes,
        upstreamProtocol: UpstreamProtocol = .http1, retryGRPCStatuses: [Int] = [], allowsEncodedSlashes: Bool = false
    ) throws(GatewayConfigurationError) {
        guard prefix.hasPrefix("/") else {
            throw GatewayConfigurationError("a route's prefix must start with '/', not '\(prefix)'")
        }
        guard !service.isEmpty else { throw GatewayConfigurationError("route \(prefix) names no service") }
        guard retries >= 0, retries <= 10 else {
            throw GatewayConfigurationError("route \(prefix): retries must be in 0...10, not \(retries)")
        }
        guard perTryTimeout > .zero, timeout > .zero else {
            throw GatewayConfigurationError("route \(prefix): timeouts must be positive")
        }
        guard maxBodyBytes >= 0 else {
            throw GatewayConfigurationError("route \(prefix): the body limit must not be negative")
        }
        if let code = retryGRPCStatuses.first(where: { !(1...16).contains($0) }) {
            throw GatewayConfigurationError("route \(prefix): \(code) is not a gRPC error status (1...16)")
        }
        self.host = host?.lowercased()
        // "/api/" and "/api" are the same route; "/" stays "/".
        self.prefix = prefix.count > 1 && prefix.hasSuffix("/") ? String(prefix.dropLast()) : prefix
        self.service = service
        self.stripPrefix = stripPrefix
        self.strategy = strategy
        self.perTryTimeout = perTryTimeout
        self.timeout = timeout
        self.retries = retries
        self.maxBodyBytes = maxBodyBytes
        self.upstreamProtocol = upstreamProtocol
        self.retryGRPCStatuses = retryGRPCStatuses
        self.allowsEncodedSlashes = allowsEncodedSlashes
    }

    /// Whether `path` (without the query) is under this route's prefix, compared byte by
    /// byte, as a proxy matches paths.
    func matches(path: Substring) -> Bool {
        let (path, prefix) = (path.utf8, prefix.utf8)
        guard path.starts(with: prefix) else { return false }
        // The prefix starts with "/": one byte long, it is "/" and matches every path.
        if prefix.count == 1 || path.count == prefix.count { return true }
        return path[path.index(path.startIndex, offsetBy: prefix.count)] == UInt8(ascii: "/")
    }

    /// The URI sent upstream for `uri` (path and query), with the prefix removed when
    /// ``stripPrefix`` is set; never empty.
    func upstreamURI(_ uri: String) -> String {
        guard stripPrefix, prefix != "/" else { return uri }
        let rest = uri.dropFirst(prefix.count)
        if rest.isEmpty { return "/" }
        return rest.hasPrefix("/") ? String(rest) : "/" + rest
    }
}

/// A gateway setting that cannot be used, with a message that says which and why.
public struct GatewayConfigurationError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
