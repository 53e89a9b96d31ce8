/// The routes, sorted for matching: hosts before no host, then longer prefixes first.
public struct RouteTable: Sendable {
    /// The routes in matching order.
    public let routes: [GatewayRoute]
    /// Whether any route names a host (if none does, the `Host` header is not looked at).
    private let anyHost: Bool

    /// - Throws: ``GatewayConfigurationError`` when two routes have the same host and prefix.
    public init(_ routes: [GatewayRoute]) throws(GatewayConfigurationError) {
        var seen = Set<String>()
        for route in routes {
            let key = "\(route.host ?? "*") \(route.prefix)"
            guard seen.insert(key).inserted else {
                throw GatewayConfigurationError("two routes for \(route.host ?? "any host") \(route.prefix)")
            }
        }
        self.routes = routes.sorted { a, b in
            if (a.host != nil) != (b.host != nil) { return a.host != nil }
            return a.prefix.count > b.prefix.count
        }
        anyHost = routes.contains { $0.host != nil }
    }

    /// The index (in ``routes``) of the route for a request, or `nil`.
    ///
    /// - Parameters:
    ///   - host: the `Host` header, perhaps with a port. Read only when a route names a host.
    ///   - uri: the request target, path and query.
    public func match(host: @autoclosure () -> String?, uri: String) -> Int? {
        // Bytes, not characters: a target is ASCII, and a `?` or `#` byte is never inside a
        // longer UTF-8 sequence, so its index is a valid one of the string.
        let end = uri.utf8.firstIndex { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") } ?? uri.endIndex
        let path = uri[..<end]
        let hostName = anyHost ? host().map(Self.hostName) : nil
        return routes.firstIndex { route in
            (route.host == nil || route.host == hostName) && route.matches(path: path)
        }
    }

    /// `Example.COM:8080` → `example.com`; `[::1]:80` → `[::1]`.
    static func hostName(_ host: String) -> String {
        var name = Substring(host)
        if let colon = name.lastIndex(of: ":"), !name[colon...].contains("]") { name = name[..<colon] }
        return name.lowercased()
    }
}
