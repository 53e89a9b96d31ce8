import NIOHTTP1

/// The header rewriting a proxy owes both sides (RFC 9110 §7.6.1 and the X-Forwarded-*
/// conventions).
enum ForwardedHeaders {
    /// Headers that describe one connection, not the message: never forwarded.
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
        "proxy-authorization", "proxy-authenticate",
    ]

    /// The lengths of those names: most headers are ruled out by their length alone.
    private static let hopByHopLengths = Set(hopByHop.map(\.utf8.count))

    /// Removes the hop-by-hop headers and those the `Connection` header names.
    ///
    /// One pass finds which are present (most requests have none but `Connection` at most),
    /// and only those are removed.
    static func stripHopByHop(_ headers: inout HTTPHeaders) {
        var present: [String] = []
        var named: [String] = []
        for (name, value) in headers {
            guard hopByHopLengths.contains(name.utf8.count) else { continue }
            let lower = name.utf8.contains { (65...90).contains($0) } ? name.lowercased() : name
            if hopByHop.contains(lower) { present.append(lower) }
            if lower == "connection" {
                named += value.split(separator: ",").map { $0.trimmed.lowercased() }
            }
        }
        guard !present.isEmpty else { return }
        for name in Set(present + named) { headers.remove(name: name) }
    }

    /// The request head to send upstream for `head`.
    ///
    /// - Parameters:
    ///   - uri: the target after prefix stripping.
    ///   - clientIP: the client's address, appended to `X-Forwarded-For`.
    ///   - requestID: the request's id, sent as `X-Request-Id`.
    ///   - chunked: whether the client's body is chunked (re-framed upstream as chunked).
    static func upstreamHead(
        _ head: HTTPRequestHead, uri: String, clientIP: String?, requestID: String, chunked: Bool
    ) -> HTTPRequestHead {
        var headers = head.headers
        stripHopByHop(&headers)
        headers.remove(name: "expect")  // the gateway answers 100-continue itself
        if chunked { headers.add(name: "transfer-encoding", value: "chunked") }
        if let clientIP {
            let previous = headers["x-forwarded-for"].joined(separator: ", ")
            headers.replaceOrAdd(name: "x-forwarded-for", value: previous.isEmpty ? clientIP : "\(previous), \(clientIP)")
        }
        headers.replaceOrAdd(name: "x-forwarded-proto", value: "http")
        if let host = head.headers["host"].first { headers.replaceOrAdd(name: "x-forwarded-host", value: host) }
        headers.replaceOrAdd(name: "x-request-id", value: requestID)
        return HTTPRequestHead(version: .http1_1, method: head.method, uri: uri, headers: headers)
    }

    /// The response head to send the client for an upstream's `head`.
    static func clientHead(_ head: HTTPResponseHead, requestID: String, close: Bool) -> HTTPResponseHead {
        var headers = head.headers
        stripHopByHop(&headers)
        if !headers.contains(name: "x-request-id") { headers.add(name: "x-request-id", value: requestID) }
        if close { headers.add(name: "connection", value: "close") }
        return HTTPResponseHead(version: .http1_1, status: head.status, headers: headers)
    }
}
