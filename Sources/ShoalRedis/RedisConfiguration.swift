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

    public init(
        host: String = "127.0.0.1", port: Int = 6379, username: String? = nil, password: String? = nil,
        database: Int = 0, clientName: String? = nil, connectTimeout: Duration = .seconds(5),
        commandTimeout: Duration = .seconds(5)
    ) {
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
