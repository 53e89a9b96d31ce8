import Crypto
import ShoalRESP

/// A Lua script, sent by its SHA-1 once the server knows it.
///
/// ```swift
/// let compareAndDelete = RedisScript("""
///     if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
///     return 0
///     """)
/// let deleted = try await connection.evaluate(compareAndDelete, keys: ["lock:report"], arguments: [token])
/// ```
public struct RedisScript: Sendable, Hashable {
    /// The Lua source.
    public let source: String
    /// The script's SHA-1, lowercase hex: the name `EVALSHA` knows it by.
    public let sha1: String

    public init(_ source: String) {
        self.source = source
        sha1 = Insecure.SHA1.hash(data: Array(source.utf8)).map { byte in
            let hex = String(byte, radix: 16)
            return hex.count == 1 ? "0" + hex : hex
        }.joined()
    }
}

extension RedisConnection {
    /// Runs `script` with `EVALSHA`; when the server does not have it (a new or restarted
    /// server, or after `SCRIPT FLUSH`), loads it with `SCRIPT LOAD` and runs it again.
    ///
    /// - Throws: ``RedisError`` with ``RedisError/Code-swift.struct/server`` when the script
    ///   fails, or any connection error.
    public func evaluate(
        _ script: RedisScript, keys: [String] = [], arguments: [String] = [], timeout: Duration? = nil
    ) async throws(RedisError) -> RESPValue {
        let call = [script.sha1, String(keys.count)] + keys + arguments
        do {
            return try await send(RESPCommand(["EVALSHA"] + call), timeout: timeout)
        } catch  where error.code == .server && error.serverMessage?.hasPrefix("NOSCRIPT") == true {
            let loaded = try await send(RESPCommand("SCRIPT", "LOAD", script.source), timeout: timeout)
            guard loaded.string == script.sha1 else {
                throw RedisError(.server, "server error: SCRIPT LOAD answered \(loaded), expected \(script.sha1)")
            }
            return try await send(RESPCommand(["EVALSHA"] + call), timeout: timeout)
        }
    }
}
