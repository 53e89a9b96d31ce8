/// The pieces of a Redis URL after its scheme, before they are read as hosts:
/// `[[USER]:PASSWORD@]HOSTS[/DB][?QUERY][#FRAGMENT]`.
struct RedisURLParts {
    var username: String?
    var password: String?
    /// Everything between the credentials and the database: one `HOST[:PORT]`, or several
    /// separated by commas.
    var hosts: Substring
    var database = 0
    var query: Substring?
    var fragment: Substring?

    init(_ url: String, schemeLength: Int) throws(RedisURLError) {
        var rest = Substring(url.dropFirst(schemeLength))
        if let hash = rest.firstIndex(of: "#") {
            fragment = rest[rest.index(after: hash)...]
            rest = rest[..<hash]
        }
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
            if !path.isEmpty {
                guard let number = Int(path), number >= 0 else {
                    throw RedisURLError(url, "the database '\(path)' is not a number ≥ 0")
                }
                database = number
            }
        }
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                let user = try RedisConfiguration.decode(credentials[..<colon], in: url)
                username = user.isEmpty ? nil : user
                password = try RedisConfiguration.decode(credentials[credentials.index(after: colon)...], in: url)
            } else {
                password = try RedisConfiguration.decode(credentials, in: url)  // PASSWORD@host, as redis-cli reads it
            }
        }
        hosts = rest
    }

    /// The value of `name` in the query, decoded.
    func queryValue(_ name: String, in url: String) throws(RedisURLError) -> String? {
        guard let query else { return nil }
        for pair in query.split(separator: "&") {
            let (key, value) = pair.firstIndex(of: "=").map { (pair[..<$0], pair[pair.index(after: $0)...]) }
                ?? (pair, "")
            if key == name { return try RedisConfiguration.decode(value, in: url) }
        }
        return nil
    }
}
