import NIOCore
import ShoalRESP

extension RedisConnection {
    /// How many times a connection asks the sentinels again when the server they named
    /// turns out not to be the primary (they have not all heard of a failover yet), and
    /// how long it waits in between.
    static let primaryAttempts = 10
    static let primaryRetryPause = Duration.milliseconds(100)

    /// Connects to the primary the sentinels name now, checked with `ROLE`.
    static func connectToPrimary(
        _ configuration: RedisConfiguration, sentinel: RedisSentinel, group: any EventLoopGroup,
        onPush: (@Sendable (RESPValue) -> Void)?
    ) async throws(RedisError) -> RedisConnection {
        var notPrimary: RedisError?
        for attempt in 0..<primaryAttempts {
            if attempt > 0 {
                do {
                    try await Task.sleep(for: primaryRetryPause)
                } catch {
                    throw RedisError(.cancelled, "cancelled while looking for the primary '\(sentinel.primaryName)'")
                }
            }
            let primary = try await RedisPrimaryLocator.primary(of: sentinel, group: group)
            var direct = configuration
            direct.host = primary.host
            direct.port = primary.port
            do {
                return try await connectDirectly(direct, group: group, onPush: onPush)
            } catch where error.code == .notPrimary {
                notPrimary = error
            }
        }
        throw notPrimary
            ?? RedisError(.notPrimary, "the sentinels named no primary for '\(sentinel.primaryName)'")
    }

    /// Whether a `ROLE` answer is a primary's: `["master", offset, replicas]`.
    static func isPrimary(_ role: RESPValue) -> Bool {
        guard case .array(let parts) = role, let first = parts.first?.string else { return false }
        return first == "master"
    }
}
