/// Where the sentinels that watch a primary are, and how to talk to them.
///
/// Set as ``RedisConfiguration/sentinel``, it makes every connection of that configuration
/// go to the primary the sentinels name, wherever that is now:
///
/// ```swift
/// var configuration = RedisConfiguration(password: "s3cret")
/// configuration.sentinel = RedisSentinel(
///     sentinels: [.init(host: "10.0.0.1"), .init(host: "10.0.0.2"), .init(host: "10.0.0.3")],
///     primaryName: "shoal")
/// let pool = RedisConnectionPool(configuration: configuration)   // follows failovers
/// ```
///
/// or, as a URL that lettuce reads too:
/// `redis-sentinel://:s3cret@10.0.0.1,10.0.0.2,10.0.0.3/0#shoal`.
///
/// A connection asks the sentinels in turn (each within ``timeout``) for the primary's
/// address with `SENTINEL get-master-addr-by-name`, connects there, and checks with `ROLE`
/// that the server is a primary, so a sentinel that has not yet heard of a failover cannot
/// send it to a demoted one. The sentinel that answered is asked first next time, and the
/// sentinels it knows of (`SENTINEL sentinels`) are added to the list. A
/// ``RedisConnectionPool`` that runs, and every ``RedisSubscriber``, also listen to a
/// sentinel for `+switch-master` and move to the new primary at once.
public struct RedisSentinel: Sendable, Hashable {
    /// A sentinel's address.
    public struct Address: Sendable, Hashable, CustomStringConvertible {
        public var host: String
        /// 26379 by default, Sentinel's own port.
        public var port: Int

        public init(host: String, port: Int = 26379) {
            self.host = host
            self.port = port
        }

        /// `host:port`, IPv6 hosts in brackets.
        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    /// The sentinels to ask, in order; at least one.
    public var sentinels: [Address]
    /// The name the sentinels know the primary by (`sentinel monitor NAME …`).
    public var primaryName: String
    /// ACL user for the sentinels (`HELLO 3 AUTH`); `default` when only a password is given.
    public var username: String?
    /// The sentinels' password (`requirepass` in `sentinel.conf`), if any.
    public var password: String?
    /// TLS to the sentinels; `nil` for plain TCP.
    public var tls: RedisTLS?
    /// How long each sentinel has to connect and answer. Default 500 ms.
    public var timeout: Duration

    public init(
        sentinels: [Address], primaryName: String, username: String? = nil, password: String? = nil,
        tls: RedisTLS? = nil, timeout: Duration = .milliseconds(500)
    ) {
        self.sentinels = sentinels
        self.primaryName = primaryName
        self.username = username
        self.password = password
        self.tls = tls
        self.timeout = timeout
    }

    /// How to connect to one sentinel.
    func configuration(_ address: Address) -> RedisConfiguration {
        RedisConfiguration(
            host: address.host, port: address.port, username: username, password: password,
            connectTimeout: timeout, commandTimeout: timeout, tls: tls)
    }
}
