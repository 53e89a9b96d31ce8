import Foundation
import ShoalRedis

/// The `--redis` URL of a command, or `SHOAL_REDIS_URL` when the flag is not given.
enum RedisURLArgument {
    static func configuration(_ flag: String?) throws(UsageError) -> RedisConfiguration {
        guard let url = flag ?? ProcessInfo.processInfo.environment["SHOAL_REDIS_URL"] else {
            throw UsageError("--redis is missing (or set SHOAL_REDIS_URL), e.g. --redis redis://127.0.0.1:6379")
        }
        do {
            return try RedisConfiguration(url: url)
        } catch {
            throw UsageError("--redis: \(error.message)")
        }
    }
}
