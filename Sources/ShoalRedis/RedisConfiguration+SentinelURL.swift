extension RedisConfiguration {
    /// Reads `redis-sentinel://` and `rediss-sentinel://`; see ``init(url:)``.
    init(sentinelURL url: String) throws(RedisURLError) {
        let secure = url.hasPrefix("rediss-sentinel://")
        let parts = try RedisURLParts(
            url, schemeLength: secure ? "rediss-sentinel://".count : "redis-sentinel://".count)
        if let query = parts.query {
            for pair in query.split(separator: "&") where !pair.hasPrefix("sentinelMasterId=") {
                throw RedisURLError(url, "unknown query parameter '\(pair)': only sentinelMasterId= is read")
            }
        }
        var primaryName = try parts.queryValue("sentinelMasterId", in: url)
        if let fragment = parts.fragment {
            primaryName = try Self.decode(fragment, in: url)
        }
        guard let primaryName, !primaryName.isEmpty else {
            throw RedisURLError(
                url, "it names no primary: end it with #NAME, the name the sentinels monitor (sentinel monitor NAME …)")
        }
        var sentinels: [RedisSentinel.Address] = []
        for text in parts.hosts.split(separator: ",", omittingEmptySubsequences: false) {
            let (host, port) = try Self.hostAndPort(text, defaultPort: 26379, in: url)
            sentinels.append(RedisSentinel.Address(host: host, port: port))
        }
        let tls = secure ? RedisTLS() : nil
        self.init(
            username: parts.username, password: parts.password, database: parts.database, tls: tls,
            sentinel: RedisSentinel(
                sentinels: sentinels, primaryName: primaryName, username: parts.username, password: parts.password,
                tls: tls))
    }
}
