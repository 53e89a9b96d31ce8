import NIOCore
import ShoalRESP

/// A connection to one of a primary's sentinels that hears of its failovers.
enum RedisSentinelWatch {
    /// The channel on which sentinels announce a new primary:
    /// `<name> <old host> <old port> <new host> <new port>`.
    static let channel = "+switch-master"

    /// Connects to the first sentinel that answers (in ``RedisPrimaryLocator/order(_:)``),
    /// subscribes to `+switch-master`, and returns once the sentinel has the subscription.
    /// `onSwitch` is called, on the connection's event loop, with the new primary's address
    /// each time that sentinel announces one for `sentinel.primaryName`. The connection
    /// closes when that sentinel goes away; the caller watches it with
    /// ``RedisConnection/onClose(_:)`` and opens another.
    static func open(
        _ sentinel: RedisSentinel, group: any EventLoopGroup,
        onSwitch: @escaping @Sendable (RedisSentinel.Address) -> Void
    ) async throws(RedisError) -> RedisConnection {
        let name = sentinel.primaryName
        let onPush: @Sendable (RESPValue) -> Void = { push in
            guard case .message(let message) = RedisPush(push), message.channel == channel,
                let address = newPrimary(in: String(buffer: message.payload), of: name)
            else { return }
            onSwitch(address)
        }
        var failures: [String] = []
        for address in RedisPrimaryLocator.order(sentinel) {
            do {
                let connection = try await RedisConnection.connect(
                    sentinel.configuration(address), group: group, onPush: onPush)
                connection.writeWithoutReply([RESPCommand("SUBSCRIBE", channel)])
                // Replies come in order: once PING's is here, SUBSCRIBE has been acted on.
                do {
                    _ = try await connection.send(RESPCommand("PING"))
                } catch {
                    await connection.close()
                    throw error
                }
                return connection
            } catch {
                failures.append("\(address): \(error)")
            }
        }
        throw RedisError(
            .connectionRefused,
            "no sentinel of '\(name)' could be subscribed to for failovers: \(failures.joined(separator: "; "))")
    }

    /// The new primary in a `+switch-master` message, if the message is about `name`.
    static func newPrimary(in message: String, of name: String) -> RedisSentinel.Address? {
        let words = message.split(separator: " ")
        guard words.count == 5, words[0] == name, let port = Int(words[4]), (1...65535).contains(port) else {
            return nil
        }
        return RedisSentinel.Address(host: String(words[3]), port: port)
    }
}
