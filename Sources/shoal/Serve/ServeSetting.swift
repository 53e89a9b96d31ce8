/// One setting of `shoal serve`: its key in the YAML file, and the flag and environment
/// variable that override it.
///
/// The key is dotted (`redis.url` is `url:` under `redis:` in YAML); the environment variable
/// is `SHOAL_` and the key in upper case with `_` for `.` (`SHOAL_REDIS_URL`).
struct ServeSetting: Sendable, Hashable {
    /// The key, dotted: `admin`, `redis.url`.
    let key: String
    /// The flag that sets it, with its dashes.
    let flag: String
    /// What it means, for error messages and `--help`.
    let summary: String

    /// The environment variable that sets it.
    var environmentVariable: String {
        "SHOAL_" + key.uppercased().replacing(".", with: "_")
    }

    /// "--flag, SHOAL_VAR or `key:` in the config file", for messages.
    var sources: String {
        "\(flag), \(environmentVariable) or '\(key)' in the config file"
    }

    static let admin = ServeSetting(key: "admin", flag: "--admin", summary: "where the admin API listens")
    static let token = ServeSetting(key: "token", flag: "--token", summary: "the bearer token /v1 requests need")
    static let insecure = ServeSetting(
        key: "insecure", flag: "--insecure", summary: "allow a non-loopback admin address without a token")
    static let redisURL = ServeSetting(key: "redis.url", flag: "--redis", summary: "the Redis server")
    static let redisCA = ServeSetting(key: "redis.ca", flag: "--redis-ca", summary: "CA certificates for rediss://")
    static let listen = ServeSetting(key: "listen", flag: "--listen", summary: "the gateway's listener")

    /// Every setting `shoal serve` reads.
    static let all: [ServeSetting] = [admin, token, insecure, redisURL, redisCA, listen]
}
