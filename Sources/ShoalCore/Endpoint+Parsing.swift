extension Endpoint {
    /// Parses `HOST:PORT` or `HOST:PORT=WEIGHT`; IPv6 hosts go in brackets: `[::1]:6379=2`.
    ///
    /// The parser is strict: no spaces, a port of digits only in `0 ... 65535`, and a weight
    /// that is a finite decimal number greater than zero.
    ///
    /// ```swift
    /// try Endpoint(parsing: "cache-1:11211")     // weight 1
    /// try Endpoint(parsing: "[fe80::1]:6380=3")  // IPv6, weight 3
    /// ```
    ///
    /// - Throws: ``EndpointError`` naming what was wrong with `text`.
    public init(parsing text: String) throws(EndpointError) {
        var rest = Substring(text)
        var weight = 1.0
        if let equals = rest.lastIndex(of: "=") {
            let weightText = rest[rest.index(after: equals)...]
            guard let parsed = Double(weightText), parsed.isFinite, parsed > 0,
                weightText.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") })
            else {
                throw EndpointError(.invalidWeight, input: text)
            }
            weight = parsed
            rest = rest[..<equals]
        }

        let host: Substring
        let portText: Substring
        if rest.first == "[" {
            guard let close = rest.firstIndex(of: "]") else {
                throw EndpointError(.malformed, input: text)
            }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let afterClose = rest[rest.index(after: close)...]
            guard afterClose.first == ":" else {
                throw EndpointError(.missingPort, input: text)
            }
            portText = afterClose.dropFirst()
        } else {
            guard let colon = rest.lastIndex(of: ":") else {
                throw EndpointError(.missingPort, input: text)
            }
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
            guard !host.contains(":") else {
                // An unbracketed IPv6 address is ambiguous: is the last group the port?
                throw EndpointError(.malformed, input: text)
            }
        }
        guard !host.isEmpty else {
            throw EndpointError(.emptyHost, input: text)
        }
        guard !host.contains(where: { $0.isWhitespace || $0 == "/" || $0 == "[" || $0 == "]" }) else {
            throw EndpointError(.malformed, input: text)
        }
        guard !portText.isEmpty, portText.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw EndpointError(.missingPort, input: text)
        }
        guard let port = Int(portText), (0...65535).contains(port) else {
            throw EndpointError(.portOutOfRange, input: text)
        }
        try self.init(host: String(host), port: port, weight: weight)
    }
}
