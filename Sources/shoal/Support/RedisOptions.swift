import ArgumentParser
import Foundation
import NIOSSL
import ShoalRedis

/// `--redis URL` (or `SHOAL_REDIS_URL`) and `--redis-ca FILE`, shared by the commands that
/// talk to Redis.
struct RedisOptions: ParsableArguments {
    @Option(
        help:
            "The Redis server: redis://[[USER]:PASSWORD@]HOST[:PORT][/DB], rediss://… for TLS; or the primary its sentinels name: redis-sentinel://[[USER]:PASSWORD@]HOST[:PORT][,HOST[:PORT]…][/DB]#PRIMARY (rediss-sentinel://… for TLS). Default: $SHOAL_REDIS_URL."
    )
    var redis: String?

    @Option(
        name: .customLong("redis-ca"),
        help: "A PEM file of CA certificates to trust for rediss:// and rediss-sentinel:// (default: the system's).")
    var redisCA: String?

    /// The configuration the flags describe.
    func configuration() throws(UsageError) -> RedisConfiguration {
        guard let configuration = try configurationIfGiven() else {
            throw UsageError("--redis is missing (or set SHOAL_REDIS_URL), e.g. --redis redis://127.0.0.1:6379")
        }
        return configuration
    }

    /// The configuration the flags describe, or `nil` when neither `--redis` nor
    /// `SHOAL_REDIS_URL` names a server (for commands where Redis is optional).
    func configurationIfGiven() throws(UsageError) -> RedisConfiguration? {
        guard let url = redis ?? ProcessInfo.processInfo.environment["SHOAL_REDIS_URL"] else { return nil }
        return try Self.configuration(url: url, ca: redisCA)
    }

    /// The configuration for a `redis://`, `rediss://`, `redis-sentinel://` or
    /// `rediss-sentinel://` URL, trusting the CAs in the PEM file `ca` (if given) for TLS, to the
    /// data nodes and the sentinels alike.
    static func configuration(url: String, ca: String?) throws(UsageError) -> RedisConfiguration {
        var configuration: RedisConfiguration
        do {
            configuration = try RedisConfiguration(url: url)
        } catch {
            throw UsageError("--redis: \(error.message)")
        }
        if let ca {
            guard configuration.tls != nil else {
                throw UsageError("--redis-ca needs a rediss:// (or rediss-sentinel://) URL")
            }
            guard FileManager.default.isReadableFile(atPath: ca) else {
                throw UsageError("--redis-ca: cannot read '\(ca)'")
            }
            configuration.tls?.configuration.trustRoots = .file(ca)
            configuration.sentinel?.tls?.configuration.trustRoots = .file(ca)
        }
        return configuration
    }
}
