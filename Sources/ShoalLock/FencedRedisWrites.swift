import ShoalRESP
import ShoalRedis

/// Writes to Redis that a lock holder who has lost the lock cannot make: each write carries
/// the lease's fencing token, and Redis refuses it if a higher token has already written.
///
/// A lock alone cannot stop a holder that paused (a GC pause, a stalled VM) past its lease
/// from writing after a new holder took over. The resource must check, and this is that
/// check for data kept in Redis:
///
/// ```swift
/// let writes = FencedRedisWrites(connection: redis)
/// try await locks.withLock("report", ttl: .seconds(10), wait: .seconds(30)) { lease in
///     let report = try await build()
///     switch try await writes.set("report:latest", to: report, fencingToken: lease.fencingToken) {
///     case .written: break
///     case .rejected(let newer): print("a newer holder (token \(newer)) already wrote")
///     }
/// }
/// ```
///
/// The highest token seen is kept beside the value, in `<key>:fence`. A write with a token
/// equal to the highest is allowed (the same holder writing again). For a read-modify-write,
/// read with ``get(_:fencingToken:)``, which counts as seeing the token. Tokens are compared as
/// Lua numbers, exact up to 2⁵³.
public struct FencedRedisWrites: Sendable {
    /// What a fenced write did.
    public enum Outcome: Sendable, Hashable {
        /// The value was written; the token is now the highest seen.
        case written
        /// A write with this higher token came first; nothing was changed.
        case rejected(highestSeen: UInt64)
    }

    static let script = RedisScript(
        """
        local seen = tonumber(redis.call('GET', KEYS[2]) or '0')
        local token = tonumber(ARGV[2])
        if token < seen then return {0, seen} end
        redis.call('SET', KEYS[2], ARGV[2])
        redis.call('SET', KEYS[1], ARGV[1])
        return {1, token}
        """)

    /// What a fenced read found.
    public enum Read: Sendable, Hashable {
        /// The value (`nil` if the key does not exist); the token is now the highest seen.
        case value(String?)
        /// A higher token has read or written the key; the value was not read.
        case rejected(highestSeen: UInt64)
    }

    static let readScript = RedisScript(
        """
        local seen = tonumber(redis.call('GET', KEYS[2]) or '0')
        local token = tonumber(ARGV[1])
        if token < seen then return {0, seen} end
        if token > seen then redis.call('SET', KEYS[2], ARGV[1]) end
        return {1, redis.call('GET', KEYS[1])}
        """)

    public let connection: RedisConnection

    public init(connection: RedisConnection) {
        self.connection = connection
    }

    /// Reads `key` unless a higher fencing token has read or written it, and makes this
    /// token the highest seen.
    ///
    /// For a read-modify-write, read with the token too: then a holder that paused between
    /// its read and its write cannot write a value computed from what it read, once a newer
    /// holder has read. With a plain read, both could write values computed from the same
    /// read, each with a token higher than the last write's, and one update would be lost.
    public func get(_ key: String, fencingToken: UInt64) async throws(RedisError) -> Read {
        let reply = try await connection.evaluate(
            Self.readScript, keys: [key, "\(key):fence"], arguments: [String(fencingToken)])
        guard case .array(let parts) = reply, parts.count == 2, case .integer(let read) = parts[0] else {
            throw RedisError(.protocolViolation, "unexpected reply to a fenced read of \(key): \(reply)")
        }
        if read == 1 { return .value(parts[1] == .null ? nil : parts[1].string) }
        guard case .integer(let seen) = parts[1] else {
            throw RedisError(.protocolViolation, "unexpected reply to a fenced read of \(key): \(reply)")
        }
        return .rejected(highestSeen: UInt64(max(seen, 0)))
    }

    /// Sets `key` to `value` unless a higher fencing token has read or written it.
    public func set(_ key: String, to value: String, fencingToken: UInt64) async throws(RedisError) -> Outcome {
        let reply = try await connection.evaluate(
            Self.script, keys: [key, "\(key):fence"], arguments: [value, String(fencingToken)])
        guard case .array(let parts) = reply, parts.count == 2, case .integer(let written) = parts[0],
            case .integer(let seen) = parts[1]
        else {
            throw RedisError(.protocolViolation, "unexpected reply to a fenced write of \(key): \(reply)")
        }
        return written == 1 ? .written : .rejected(highestSeen: UInt64(max(seen, 0)))
    }
}
