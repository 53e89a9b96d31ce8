import NIOCore
import NIOHPACK

/// An HTTP/2 request's header block written as the HTTP/1.1 head that the gateway's exchange
/// reads (RFC 9113 §8.3.1 to RFC 9112 §3): `:method` and `:path` make the request line,
/// `:authority` the `Host` field, and `cookie` fields, which HTTP/2 may split, are joined
/// again (RFC 9113 §8.2.3).
///
/// HTTP/2 carries field values that HTTP/1.1 could not: bytes that end a line. A request
/// with one is refused here, whatever the HTTP/2 codec checked before, because a line break
/// written into an HTTP/1.1 head would smuggle a field, or a request, past the gateway.
struct HTTP2RequestHead {
    /// The head, as the exchange reads it: its bytes, from the request line to the blank line
    /// that ends it, with its fields found as they were written.
    let head: RequestHead
    /// Whether the body goes in chunks: the request has a body and declares no length.
    let chunked: Bool
    /// Whether it is a `HEAD` request, whose response has no body whatever its fields say.
    let isHead: Bool

    /// Translates `headers`; `endStream` says whether the stream ended with them (no body).
    init(_ headers: HPACKHeaders, endStream: Bool) throws(HTTPParseError) {
        var method: String?
        var path: String?
        var authority: String?
        var host: String?
        var cookies: [String] = []
        var hasLength = false
        var size = 64
        for (name, value, _) in headers {
            size += name.utf8.count + value.utf8.count + 4
            guard Self.isValue(value) else {
                throw HTTPParseError("the value of \(name) holds a byte that HTTP/1.1 cannot carry")
            }
            switch name {
            case ":method": method = value
            case ":path": path = value
            case ":authority": authority = value
            case ":scheme": break  // the listener says which: X-Forwarded-Proto
            case ":protocol": throw HTTPParseError("extended CONNECT (:protocol) is not supported")
            case "host": host = value
            case "cookie": cookies.append(value)
            case "content-length": hasLength = true
            case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
                // Fields of one HTTP/1.1 connection, which HTTP/2 forbids (RFC 9113 §8.2.2): the
                // codec refuses them too, but written into the head they would change its framing.
                throw HTTPParseError("\(name) is not allowed in an HTTP/2 request")
            case "te" where value != "trailers":
                throw HTTPParseError("te may only be trailers in an HTTP/2 request")
            default:
                guard !name.hasPrefix(":") else { throw HTTPParseError("unknown pseudo-header \(name)") }
            }
        }
        guard let method, Self.isToken(method) else { throw HTTPParseError("the request has no valid :method") }
        guard method != "CONNECT" else { throw HTTPParseError("CONNECT is not supported over HTTP/2") }
        guard let path, Self.isTarget(path) else { throw HTTPParseError("the request has no valid :path") }
        let hostValue = authority ?? host
        if let hostValue, !Self.isAuthority(hostValue) {
            throw HTTPParseError("the request's authority is not a host and port")
        }
        chunked = !endStream && !hasLength
        isHead = method == "HEAD"

        var bytes: [UInt8] = []
        bytes.reserveCapacity(size)
        // Where each field's name and value went, for the head's field list.
        var ranges: [(name: Range<Int>, value: Range<Int>)] = []
        ranges.reserveCapacity(headers.count + 2)
        func append(_ name: some StringProtocol, _ value: some StringProtocol) {
            let nameStart = bytes.count
            bytes.append(contentsOf: name.utf8)
            let nameEnd = bytes.count
            bytes.append(contentsOf: ": ".utf8)
            let valueStart = bytes.count
            bytes.append(contentsOf: value.utf8)
            ranges.append((nameStart..<nameEnd, valueStart..<bytes.count))
            bytes.append(contentsOf: "\r\n".utf8)
        }
        bytes.append(contentsOf: method.utf8)
        let methodRange = 0..<bytes.count
        bytes.append(UInt8(ascii: " "))
        let targetStart = bytes.count
        bytes.append(contentsOf: path.utf8)
        let targetRange = targetStart..<bytes.count
        bytes.append(contentsOf: " HTTP/1.1\r\n".utf8)
        if let hostValue { append("host", hostValue) }
        for (name, value, _) in headers where !name.hasPrefix(":") && name != "host" && name != "cookie" {
            guard Self.isToken(name) else { throw HTTPParseError("the field name \(name) is not a token") }
            append(name, value)
        }
        if !cookies.isEmpty { append("cookie", cookies.joined(separator: "; ")) }
        if chunked {
            append("transfer-encoding", "chunked")
        } else if !hasLength && ["POST", "PUT", "PATCH"].contains(method) {
            // An empty body, said as HTTP/1.1 servers expect of these methods.
            append("content-length", "0")
        }
        bytes.append(contentsOf: "\r\n".utf8)
        let fields = bytes.withUnsafeBufferPointer { buffer in
            ranges.map { HTTPField(name: $0.name, value: $0.value, kind: HTTPField.kind(of: $0.name, in: buffer)) }
        }
        head = try RequestHead(bytes: bytes, fields: fields, method: methodRange, target: targetRange, minorVersion: 1)
    }

    /// A trailer section (the fields of a request's last `HEADERS`) as the end of a chunked
    /// body: the last chunk, the fields, and the blank line.
    static func lastChunk(trailers: HPACKHeaders, allocator: ByteBufferAllocator) throws(HTTPParseError) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 64)
        buffer.writeStaticString("0\r\n")
        for (name, value, _) in trailers {
            guard Self.isToken(name), Self.isValue(value) else {
                throw HTTPParseError("a trailer field holds a byte that HTTP/1.1 cannot carry")
            }
            buffer.writeString(name)
            buffer.writeStaticString(": ")
            buffer.writeString(value)
            buffer.writeStaticString("\r\n")
        }
        buffer.writeStaticString("\r\n")
        return buffer
    }

    /// A field value HTTP/1.1 can carry, as the gateway's HTTP/1 parser accepts one: no
    /// control byte but tab (RFC 9110 §5.5), and no space or tab at either end (RFC 9113 §8.2.1).
    static func isValue(_ value: String) -> Bool {
        let utf8 = value.utf8
        if let first = utf8.first, first == 0x20 || first == 0x09 { return false }
        if let last = utf8.last, last == 0x20 || last == 0x09 { return false }
        return utf8.allSatisfy { ASCIISet.fieldValue.contains($0) }
    }

    /// A token (RFC 9110 §5.6.2): a method or a field name.
    static func isToken(_ string: String) -> Bool {
        !string.isEmpty && string.utf8.allSatisfy { ASCIISet.token.contains($0) }
    }

    /// A request target in origin form, or `*`: visible ASCII, no space.
    static func isTarget(_ string: String) -> Bool {
        guard string == "*" || string.utf8.first == UInt8(ascii: "/") else { return false }
        return string.utf8.allSatisfy { ASCIISet.visible.contains($0) }
    }

    /// A `Host` value: visible ASCII with no character that would end the authority.
    static func isAuthority(_ string: String) -> Bool {
        !string.isEmpty
            && string.utf8.allSatisfy { ASCIISet.visible.contains($0) && !"/?#@\\".utf8.contains($0) }
    }
}
