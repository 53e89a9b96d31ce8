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
    /// - Throws: ``RedisURLError`` naming what is wrong.
    public init(url: String) throws(RedisURLError) {
        let secure = url.hasPrefix("rediss://")
        guard secure || url.hasPrefix("redis://") else {
            throw RedisURLError(url, "it must start with redis:// (or rediss:// for TLS)")
        }
        var rest = Substring(url.dropFirst(secure ? "rediss://".count : "redis://".count))
        var database = 0
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
        var username: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                let user = try Self.decode(credentials[..<colon], in: url)
                username = user.isEmpty ? nil : user
                password = try Self.decode(credentials[credentials.index(after: colon)...], in: url)
            } else {
                password = try Self.decode(credentials, in: url)  // redis://PASSWORD@host, as redis-cli reads it
            }
        }
        var host = rest
        var port = 6379
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw RedisURLError(url, "an IPv6 host lacks its ']'") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw RedisURLError(url, "unexpected '\(after)' after the host") }
                port = try Self.port(after.dropFirst(), in: url)
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            port = try Self.port(rest[rest.index(after: colon)...], in: url)
        }
        guard !host.isEmpty else { throw RedisURLError(url, "it names no host") }
        self.init(
            host: String(host), port: port, username: username, password: password, database: database,
            tls: secure ? RedisTLS() : nil)
    }

    private static func port(_ text: Substring, in url: String) throws(RedisURLError) -> Int {
        guard let port = Int(text), (1...65535).contains(port) else {
            throw RedisURLError(url, "the port '\(text)' is not a number in 1...65535")
        }
        return port
    }

    private static func decode(_ text: Substring, in url: String) throws(RedisURLError) -> String {
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
