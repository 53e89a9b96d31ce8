extension RedisConfiguration {
    /// A configuration from a URL: `redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]`, or
    /// `rediss://…` for TLS verified against the system's trust roots (set
    /// ``tls`` afterwards for others).
    ///
    /// ```swift
    /// let configuration = try RedisConfiguration(url: "redis://:s3cret@10.0.0.5:6380/2")
    /// ```
    ///
    /// The port defaults to 6379 and the database to 0. IPv6 hosts go in brackets
    /// (`redis://[::1]:6379`). Percent-escapes in the user and password are decoded.
    ///
    /// The Sentinel form, as lettuce reads it, names the sentinels and the primary instead:
    /// `redis-sentinel://[[USER]:PASSWORD@]HOST[:PORT][,HOST2[:PORT2]…][/DB]#PRIMARY`, or
    /// `rediss-sentinel://…` for TLS. Sentinel ports default to 26379; the primary's name may
    /// also be given as `?sentinelMasterId=PRIMARY`. The user, password and TLS apply to the
    /// sentinels and to the data nodes alike; set ``sentinel`` afterwards to tell them apart.
    ///
    /// - Throws: ``RedisURLError`` naming what is wrong.
    public init(url: String) throws(RedisURLError) {
        if url.hasPrefix("redis-sentinel://") || url.hasPrefix("rediss-sentinel://") {
            self = try Self(sentinelURL: url)
            return
        }
        let secure = url.hasPrefix("rediss://")
        guard secure || url.hasPrefix("redis://") else {
            throw RedisURLError(
                url, "it must start with redis:// (or rediss:// for TLS), or redis-sentinel:// (rediss-sentinel://)")
        }
        let parts = try RedisURLParts(url, schemeLength: secure ? "rediss://".count : "redis://".count)
        if parts.fragment != nil || parts.query != nil {
            throw RedisURLError(url, "'#' and '?' belong to the redis-sentinel:// form only")
        }
        let (host, port) = try Self.hostAndPort(parts.hosts, defaultPort: 6379, in: url)
        self.init(
            host: host, port: port, username: parts.username, password: parts.password, database: parts.database,
            tls: secure ? RedisTLS() : nil)
    }

    /// `HOST[:PORT]`, the host of an IPv6 address in brackets.
    static func hostAndPort(
        _ text: Substring, defaultPort: Int, in url: String
    ) throws(RedisURLError) -> (host: String, port: Int) {
        var host = text
        var port = defaultPort
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw RedisURLError(url, "an IPv6 host lacks its ']'") }
            host = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw RedisURLError(url, "unexpected '\(after)' after the host") }
                port = try Self.port(after.dropFirst(), in: url)
            }
        } else if let colon = text.lastIndex(of: ":") {
            host = text[..<colon]
            port = try Self.port(text[text.index(after: colon)...], in: url)
        }
        guard !host.isEmpty else { throw RedisURLError(url, "it names no host") }
        return (String(host), port)
    }

    static func port(_ text: Substring, in url: String) throws(RedisURLError) -> Int {
        guard let port = Int(text), (1...65535).contains(port) else {
            throw RedisURLError(url, "the port '\(text)' is not a number in 1...65535")
        }
        return port
    }

    static func decode(_ text: Substring, in url: String) throws(RedisURLError) -> String {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                throw RedisURLError(url, "a '%' in the user or password is not followed by two hex digits")
            }
            bytes.append(high << 4 | low)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// A Redis URL that cannot be used; the message says why (and never repeats the password).
public struct RedisURLError: Error, Hashable, Sendable, CustomStringConvertible {
    public let message: String

    init(_ url: String, _ problem: String) {
        message = "bad Redis URL '\(Self.redacted(url))': \(problem)"
    }

    public var description: String { message }

    /// The URL with any password replaced by `***`.
    static func redacted(_ url: String) -> String {
        guard let schemeEnd = url.firstRange(of: "://")?.upperBound, let at = url.lastIndex(of: "@"), schemeEnd < at
        else {
            return url
        }
        let credentials = url[schemeEnd..<at]
        let user = credentials.firstIndex(of: ":").map { credentials[..<$0] + ":" } ?? ""
        return url[..<schemeEnd] + user + "***" + url[at...]
    }
}
