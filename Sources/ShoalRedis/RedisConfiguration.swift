import NIOSSL

/// Where and how to connect to Redis.
///
/// ```swift
/// var configuration = RedisConfiguration(host: "127.0.0.1", port: 6379)
/// configuration.password = "secret"
/// configuration.database = 2
/// let connection = try await RedisConnection.connect(configuration)
/// ```
public struct RedisConfiguration: Sendable, Hashable {
    public var host: String
    public var port: Int
    /// ACL user for `HELLO 3 AUTH`; `default` when only a password is given.
    public var username: String?
    /// Password for `HELLO 3 AUTH`.
    public var password: String?
    /// Database selected after connecting (`SELECT`); 0 by default.
    public var database: Int
    /// Name set with `CLIENT SETNAME` (shown by `CLIENT LIST`).
    public var clientName: String?
    /// How long to wait for the TCP connection and the set-up replies. Default 5 s.
    public var connectTimeout: Duration
    /// The deadline of commands that do not give their own. Default 5 s.
    public var commandTimeout: Duration
    /// TLS settings; `nil` (the default) for plain TCP. See ``RedisTLS``.
    public var tls: RedisTLS?
    /// The sentinels to ask where the primary is; `nil` (the default) to connect to
    /// ``host`` and ``port``, which are ignored when this is set. See ``RedisSentinel``.
    public var sentinel: RedisSentinel?

    public init(
        host: String = "127.0.0.1", port: Int = 6379, username: String? = nil, password: String? = nil,
        database: Int = 0, clientName: String? = nil, connectTimeout: Duration = .seconds(5),
        commandTimeout: Duration = .seconds(5), tls: RedisTLS? = nil, sentinel: RedisSentinel? = nil
    ) {
        self.tls = tls
        self.sentinel = sentinel
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.clientName = clientName
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
    }
}

/// How to speak TLS to Redis (`redis-server --tls-port`).
///
/// ```swift
/// var tls = TLSConfiguration.makeClientConfiguration()   // the system's trust roots
/// tls.trustRoots = .file("/etc/redis/ca.crt")
/// let configuration = RedisConfiguration(host: "redis.internal", port: 6380, tls: RedisTLS(tls))
/// ```
///
/// The server's certificate must chain to a trusted root, and name the server: NIOSSL (RFC
/// 6125) accepts it when one of its DNS names matches ``serverHostname`` (or the host, when
/// that is a name), or one of its IP addresses matches the address connected to.
extension RedisConfiguration {
    /// What this configuration connects to, for messages: `host:port`, or the primary the
    /// sentinels name.
    public var serverDescription: String {
        guard let sentinel else { return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
        let sentinels = sentinel.sentinels.map(\.description).joined(separator: ",")
        return "primary '\(sentinel.primaryName)' (sentinels \(sentinels))"
    }
}

public struct RedisTLS: Sendable, Hashable {
    /// NIOSSL's client settings: trust roots, client certificate, protocol versions.
    public var configuration: TLSConfiguration
    /// The name to send (SNI) and to verify the certificate against, when it differs
    /// from the host connected to.
    public var serverHostname: String?

    public init(_ configuration: TLSConfiguration = .makeClientConfiguration(), serverHostname: String? = nil) {
        self.configuration = configuration
        self.serverHostname = serverHostname
    }

    public static func == (lhs: RedisTLS, rhs: RedisTLS) -> Bool {
        lhs.serverHostname == rhs.serverHostname && lhs.configuration.bestEffortEquals(rhs.configuration)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(serverHostname)
        configuration.bestEffortHash(into: &hasher)
    }
}
