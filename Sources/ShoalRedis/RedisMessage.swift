import NIOCore
import ShoalRESP

/// A message published on a channel (`PUBLISH channel payload`).
public struct RedisMessage: Sendable, Hashable {
    /// The channel it was published on.
    public let channel: String
    /// What was published.
    public let payload: ByteBuffer

    public init(channel: String, payload: ByteBuffer) {
        self.channel = channel
        self.payload = payload
    }
}

/// What a RESP3 push frame says, as far as a subscriber cares.
enum RedisPush: Sendable, Hashable {
    case message(RedisMessage)
    case subscribed(channel: String)
    case unsubscribed(channel: String)
    case other

    init(_ value: RESPValue) {
        guard case .push(let parts) = value, parts.count >= 3, let kind = parts[0].string,
            let channel = parts[1].string
        else {
            self = .other
            return
        }
        switch kind {
        case "message":
            switch parts[2] {
            case .bulkString(let payload), .simpleString(let payload):
                self = .message(RedisMessage(channel: channel, payload: payload))
            default:
                self = .other
            }
        case "subscribe": self = .subscribed(channel: channel)
        case "unsubscribe": self = .unsubscribed(channel: channel)
        default: self = .other
        }
    }
}
