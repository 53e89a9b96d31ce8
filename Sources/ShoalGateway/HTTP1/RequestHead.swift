/// A request's head, parsed from its bytes, with what the gateway needs to know about it
/// worked out once.
struct RequestHead: HTTPHead {
    let bytes: [UInt8]
    let fields: [HTTPField]
    let method: Range<Int>
    let target: Range<Int>
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    let minorVersion: Int
    /// The `Content-Length`, if the body is framed by one.
    let contentLength: Int?
    /// Whether the body is chunked.
    let chunked: Bool
    /// Whether the client keeps the connection open after the response.
    let keepAlive: Bool
    /// Whether the client waits for `100 Continue` before sending its body.
    let expectsContinue: Bool
    /// Field names the `Connection` header lists: hop-by-hop, not forwarded.
    let connectionNames: [[UInt8]]
    /// Whether the request asks to switch protocols (a WebSocket handshake): HTTP/1.1,
    /// `Connection: upgrade` with an `Upgrade` field, and no body (RFC 9110 §7.8).
    let isUpgrade: Bool

    /// Parses `bytes`, a whole head as ``HTTPHeadScanner`` found it.
    ///
    /// - Throws: ``HTTPParseError`` (400, or 505 for another HTTP version) when the head is
    ///   malformed, or when its framing is ambiguous: `Content-Length` with
    ///   `Transfer-Encoding` is refused as request smuggling (RFC 9112 §6.1).
    init(_ bytes: [UInt8]) throws(HTTPParseError) {
        var fields: [HTTPField] = []
        try self.init(bytes, fieldStorage: &fields)
    }

    /// Parses `bytes`, with its fields in `fieldStorage` (see
    /// ``HTTPHeadParser/fields(_:from:into:)``: passing the same array for each head of a
    /// connection saves an allocation a head).
    init(_ bytes: [UInt8], fieldStorage: inout [HTTPField]) throws(HTTPParseError) {
        let parsed = try bytes.withUnsafeBufferPointer { bytes throws(HTTPParseError) in
            try Self.parseStart(bytes, fields: &fieldStorage)
        }
        try self.init(bytes: bytes, fields: fieldStorage, method: parsed.0, target: parsed.1, minorVersion: parsed.2)
    }

    /// A head whose request line and fields were found already, in well-formed `bytes` (an
    /// HTTP/2 request's, as ``HTTP2RequestHead`` writes it): the rest is worked out, and
    /// checked, as for a head that was parsed.
    init(
        bytes: [UInt8], fields: [HTTPField], method: Range<Int>, target: Range<Int>, minorVersion version: Int
    ) throws(HTTPParseError) {
        self.bytes = bytes
        self.fields = fields
        (self.method, self.target) = (method, target)
        minorVersion = min(version, 1)
        let list = HTTPFieldList(bytes: bytes, fields: fields)

        var hosts = 0
        var expectsContinue = false
        for field in fields {
            switch field.kind {
            case .host: hosts += 1
            case .expect:
                expectsContinue =
                    expectsContinue || bytes[field.value].map(\.asciiLowercased) == Array("100-continue".utf8)
            default: break
            }
        }
        self.expectsContinue = expectsContinue
        guard hosts <= 1 else { throw HTTPParseError("more than one Host header") }
        guard hosts == 1 || minorVersion == 0 else { throw HTTPParseError("an HTTP/1.1 request needs a Host header") }

        let codings = list.lowercasedElements(of: .transferEncoding)
        let length = try list.contentLength()
        if !codings.isEmpty && length != nil {
            throw HTTPParseError("both Content-Length and Transfer-Encoding: refused, as request smuggling")
        }
        if !codings.isEmpty && codings != ["chunked"] {
            throw HTTPParseError("Transfer-Encoding must be chunked alone, not \(codings.joined(separator: ", "))")
        }
        if !codings.isEmpty && minorVersion == 0 {
            throw HTTPParseError("Transfer-Encoding in an HTTP/1.0 request")
        }
        contentLength = length
        chunked = !codings.isEmpty

        let connection = list.connectionOptions()
        keepAlive = minorVersion == 0 ? connection.keepAlive : !connection.close
        connectionNames = connection.names
        isUpgrade =
            minorVersion == 1 && connection.names.contains { $0.elementsEqual("upgrade".utf8) }
            && fields.contains { $0.kind == .upgrade } && length ?? 0 == 0 && codings.isEmpty
    }

    /// Whether there is a body to read: chunked, or a length above zero.
    var hasBody: Bool { chunked || (contentLength ?? 0) > 0 }

    var methodName: String { string(method) }
    var targetString: String { string(target) }
    /// The `Host` header's value.
    var host: String? { fields.first { $0.kind == .host }.map { string($0.value) } }
    /// The `X-Request-Id` header's value.
    var requestID: String? { fields.first { $0.kind == .requestID }.map { string($0.value) } }

    /// Whether the method is HEAD, whose response has no body whatever its headers say.
    var isHead: Bool { bytes[method].elementsEqual("HEAD".utf8) }

    /// `method SP target SP HTTP/1.x CRLF`, then the fields.
    private static func parseStart(
        _ bytes: UnsafeBufferPointer<UInt8>, fields: inout [HTTPField]
    ) throws(HTTPParseError) -> (Range<Int>, Range<Int>, Int) {
        var i = 0
        let end = bytes.count
        while i < end, ASCIISet.token.contains(bytes[i]) { i += 1 }
        guard i > 0, i < end, bytes[i] == HTTPHeadParser.space else {
            throw HTTPParseError("malformed request: the request line must be METHOD TARGET HTTP/1.1")
        }
        let method = 0..<i
        i += 1
        let targetStart = i
        while i < end, ASCIISet.visible.contains(bytes[i]) { i += 1 }
        guard i > targetStart, i < end, bytes[i] == HTTPHeadParser.space else {
            throw HTTPParseError("malformed request: the target must be visible ASCII, followed by one space")
        }
        let target = targetStart..<i
        i += 1
        let minor = try HTTPHeadParser.version(bytes, at: i)
        try HTTPHeadParser.expectLineEnd(bytes, at: i + 8)
        try HTTPHeadParser.fields(bytes, from: i + 10, into: &fields)
        return (method, target, minor)
    }
}
