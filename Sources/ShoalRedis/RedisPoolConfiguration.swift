/// How a ``RedisConnectionPool`` sizes and looks after its connections.
public struct RedisPoolConfiguration: Sendable, Hashable {
    /// Connections kept open even when idle (opened by ``RedisConnectionPool/run()``). Default 1.
    public var minimumConnections: Int
    /// The most connections open at once; further callers wait in line. Default 16.
    public var maximumConnections: Int
    /// An idle connection above the minimum is closed after this long. Default 60 s.
    public var idleTimeout: Duration
    /// Idle connections are checked with PING this often; one that fails is closed and
    /// replaced. Default 10 s.
    public var healthCheckInterval: Duration
    /// How long a caller waits for a connection when all are in use. Default 5 s.
    public var leaseTimeout: Duration
    /// The wait between attempts to open the minimum connections while the server is away.
    public var backoff: RedisBackoff

    public init(
        minimumConnections: Int = 1, maximumConnections: Int = 16, idleTimeout: Duration = .seconds(60),
        healthCheckInterval: Duration = .seconds(10), leaseTimeout: Duration = .seconds(5),
        backoff: RedisBackoff = RedisBackoff()
    ) {
        self.minimumConnections = minimumConnections
        self.maximumConnections = maximumConnections
        self.idleTimeout = idleTimeout
        self.healthCheckInterval = healthCheckInterval
        self.leaseTimeout = leaseTimeout
        self.backoff = backoff
    }
}
