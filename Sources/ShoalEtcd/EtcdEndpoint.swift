/// One member's client URL: `http://HOST:PORT` or `https://HOST:PORT`.
public struct EtcdEndpoint: Hashable, Sendable, CustomStringConvertible {
    /// The member's host name or IP address (without brackets for IPv6).
    public let host: String
    /// The member's client port.
    public let port: Int
    /// Whether the member is reached over TLS (`https`).
    public let secure: Bool

    /// Reads `url`; the port defaults to 2379.
    ///
    /// - Throws: ``EtcdError`` with ``EtcdError/Code-swift.struct/invalidArgument`` for
    ///   anything but `http://` or `https://`, a host and an optional port (a path is refused:
    ///   etcd's gRPC API has none).
    public init(_ url: String) throws(EtcdError) {
        let secure: Bool
        var rest: Substring
        if url.hasPrefix("http://") {
            secure = false
            rest = url.dropFirst("http://".count)
        } else if url.hasPrefix("https://") {
            secure = true
            rest = url.dropFirst("https://".count)
        } else {
            throw EtcdError(.invalidArgument, "etcd endpoint '\(url)' must start with http:// or https://")
        }
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.contains("/"), !rest.contains("@") else {
            throw EtcdError(
                .invalidArgument,
                "etcd endpoint '\(url)' must be only a scheme, a host and a port, as http://10.0.0.5:2379")
        }
        var host = rest
        var port = 2379
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("]") {
            guard let number = Int(rest[rest.index(after: colon)...]), (1...65535).contains(number) else {
                throw EtcdError(.invalidArgument, "etcd endpoint '\(url)' has a port that is not 1...65535")
            }
            port = number
            host = rest[..<colon]
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        guard !host.isEmpty else { throw EtcdError(.invalidArgument, "etcd endpoint '\(url)' has no host") }
        self.host = String(host)
        self.port = port
        self.secure = secure
    }

    /// Reads a comma-separated list, as `--etcd` takes it.
    public static func list(_ urls: String) throws(EtcdError) -> [EtcdEndpoint] {
        var endpoints: [EtcdEndpoint] = []
        for url in urls.split(separator: ",") {
            let trimmed = String(url.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
            guard !trimmed.isEmpty else { continue }
            endpoints.append(try EtcdEndpoint(trimmed))
        }
        guard !endpoints.isEmpty else { throw EtcdError(.invalidArgument, "no etcd endpoint given in '\(urls)'") }
        return endpoints
    }

    public var description: String {
        (secure ? "https://" : "http://") + (host.contains(":") ? "[\(host)]" : host) + ":\(port)"
    }
}
