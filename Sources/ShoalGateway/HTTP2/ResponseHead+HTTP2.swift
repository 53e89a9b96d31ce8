import NIOHPACK

extension ResponseHead {
    /// An h2c instance's response header block, written as the HTTP/1.1 head the exchange
    /// reads (RFC 9113 §8.3.2): `:status` makes the status line, and the other fields follow.
    ///
    /// A value with a byte that ends a line, a name that is not a token, or a field of one
    /// HTTP/1.1 connection is refused, as ``HTTP2RequestHead`` refuses them in requests.
    ///
    /// - Parameter endStream: the stream ended with the block (a gRPC "trailers-only"
    ///   answer): without a `content-length`, the head gets `content-length: 0`, which an
    ///   HTTP/1.1 reader would otherwise read as a body that lasts until the connection closes.
    init(http2 headers: HPACKHeaders, endStream: Bool = false) throws(HTTPParseError) {
        guard let status = headers.first(name: ":status"), status.utf8.count == 3,
            status.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        else { throw HTTPParseError("the instance's response has no valid :status") }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(64 + headers.count * 32)
        bytes.append(contentsOf: "HTTP/1.1 \(status) \r\n".utf8)
        try Self.appendFields(headers, to: &bytes)
        if endStream && !headers.contains(name: "content-length") {
            bytes.append(contentsOf: "content-length: 0\r\n".utf8)
        }
        bytes.append(contentsOf: "\r\n".utf8)
        try self.init(bytes)
    }

    /// Appends `headers`' regular fields as HTTP/1.1 field lines.
    static func appendFields(_ headers: HPACKHeaders, to bytes: inout [UInt8]) throws(HTTPParseError) {
        for (name, value, _) in headers where !name.hasPrefix(":") {
            guard HTTP2RequestHead.isToken(name), HTTP2RequestHead.isValue(value) else {
                throw HTTPParseError("the instance's field \(name) holds a byte that HTTP/1.1 cannot carry")
            }
            switch name {
            case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
                throw HTTPParseError("\(name) is not allowed in an HTTP/2 response")
            default:
                bytes.append(contentsOf: name.utf8)
                bytes.append(contentsOf: ": ".utf8)
                bytes.append(contentsOf: value.utf8)
                bytes.append(contentsOf: "\r\n".utf8)
            }
        }
    }
}

extension HTTPFieldList {
    /// An h2c instance's trailer block, as the trailer fields of a chunked body.
    init(http2Trailers headers: HPACKHeaders) throws(HTTPParseError) {
        guard !headers.contains(where: { $0.name.hasPrefix(":") }) else {
            throw HTTPParseError("the instance's trailers hold a pseudo-field")
        }
        var bytes: [UInt8] = []
        try ResponseHead.appendFields(headers, to: &bytes)
        bytes.append(contentsOf: "\r\n".utf8)
        var fields: [HTTPField] = []
        try bytes.withUnsafeBufferPointer { buffer throws(HTTPParseError) in
            try HTTPHeadParser.fields(buffer, from: 0, into: &fields)
        }
        self.init(bytes: bytes, fields: fields)
    }
}
