/// An instance's response head, parsed from its bytes.
struct ResponseHead: HTTPHead {
    let bytes: [UInt8]
    let fields: [HTTPField]
    let status: Int
    /// The reason phrase's bytes (perhaps empty).
    let reason: Range<Int>
    let minorVersion: Int
    /// The `Content-Length`, if there is one.
    let contentLength: Int?
    /// Whether `Transfer-Encoding` is present, and whether its last coding is chunked.
    let hasTransferEncoding: Bool
    let chunked: Bool
    /// Whether the instance keeps the connection open after the response.
    let keepAlive: Bool
    /// Field names the `Connection` header lists: hop-by-hop, not forwarded.
    let connectionNames: [[UInt8]]
    /// Whether it carries an `X-Request-Id` of its own.
    let hasRequestID: Bool

    /// Parses `bytes`, a whole head as ``HTTPHeadScanner`` found it.
    init(_ bytes: [UInt8]) throws(HTTPParseError) {
        var fields: [HTTPField] = []
        try self.init(bytes, fieldStorage: &fields)
    }

    /// Parses `bytes`, with its fields in `fieldStorage` (see
    /// ``HTTPHeadParser/fields(_:from:into:)``: passing the same array for each head of a
    /// connection saves an allocation a head).
    init(_ bytes: [UInt8], fieldStorage: inout [HTTPField]) throws(HTTPParseError) {
        self.bytes = bytes
        let parsed = try bytes.withUnsafeBufferPointer { bytes throws(HTTPParseError) in
            try Self.parseStart(bytes, fields: &fieldStorage)
        }
        let fields = fieldStorage
        self.fields = fields
        (minorVersion, status, reason) = (min(parsed.0, 1), parsed.1, parsed.2)
        let list = HTTPFieldList(bytes: bytes, fields: fields)
        let codings = list.lowercasedElements(of: .transferEncoding)
        hasTransferEncoding = !codings.isEmpty
        chunked = codings.last == "chunked"
        // With Transfer-Encoding, Content-Length is ignored (RFC 9112 §6.3), and not forwarded.
        contentLength = hasTransferEncoding ? nil : try list.contentLength()
        let connection = list.connectionOptions()
        // A response framed by the connection's end, or with both framings, ends the connection.
        keepAlive =
            (minorVersion == 0 ? connection.keepAlive : !connection.close)
            && !(hasTransferEncoding && fields.contains { $0.kind == .contentLength })
        connectionNames = connection.names
        hasRequestID = fields.contains { $0.kind == .requestID }
    }

    /// Whether a status has no body whatever the headers say (RFC 9112 §6.3): 1xx, 204, 304.
    var hasNoBody: Bool { status < 200 || status == 204 || status == 304 }

    /// How the body is framed (RFC 9112 §6.3), or `nil` when there is none: the answer to
    /// a HEAD request, or a status without one.
    func bodyFraming(requestIsHead: Bool) -> HTTPBodyDecoder.Framing? {
        if requestIsHead || hasNoBody { return nil }
        if hasTransferEncoding { return chunked ? .chunked : .untilClose }
        if let contentLength { return .length(contentLength) }
        return .untilClose
    }

    /// `HTTP/1.x SP 3DIGIT [SP reason] CRLF`, then the fields.
    private static func parseStart(
        _ bytes: UnsafeBufferPointer<UInt8>, fields: inout [HTTPField]
    ) throws(HTTPParseError) -> (Int, Int, Range<Int>) {
        let minor = try HTTPHeadParser.version(bytes, at: 0)
        guard bytes.count > 12, bytes[8] == HTTPHeadParser.space,
            (9..<12).allSatisfy({ HTTPHeadParser.isDigit(bytes[$0]) })
        else { throw HTTPParseError("malformed response: the status line must be HTTP/1.1 CODE REASON") }
        let status = (9..<12).reduce(0) { $0 * 10 + Int(bytes[$1] - 0x30) }
        var i = 12
        var reasonStart = 12
        if bytes[i] == HTTPHeadParser.space {
            i += 1
            reasonStart = i
            while i < bytes.count, bytes[i] != HTTPHeadParser.cr {
                guard ASCIISet.fieldValue.contains(bytes[i]) else {
                    throw HTTPParseError("malformed response: the reason phrase holds a control byte")
                }
                i += 1
            }
        }
        try HTTPHeadParser.expectLineEnd(bytes, at: i)
        guard status >= 100 else { throw HTTPParseError("malformed response: status \(status)") }
        try HTTPHeadParser.fields(bytes, from: i + 2, into: &fields)
        return (minor, status, reasonStart..<i)
    }
}
