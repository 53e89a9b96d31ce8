import NIOCore
import NIOHPACK
import NIOHTTP2

/// The bytes an exchange writes for an HTTP/1.1 instance, rewritten as the frames of one
/// HTTP/2 stream to an h2c instance (RFC 9112 §3 to RFC 9113 §8.3.1): the request line
/// becomes `:method`, `:scheme` and `:path`, `Host` becomes `:authority`, the fields of one
/// HTTP/1.1 connection are dropped, and a chunked body's chunks become `DATA` frames, its
/// trailer fields a last `HEADERS` frame.
///
/// The exchange writes the same bytes whichever protocol the route speaks, so the head it
/// wrote is read again here. A value with no I/O: ``UpstreamStream`` writes what it gives.
struct HTTP2UpstreamRequest {
    /// Whether the client asked for trailers (`TE: trailers`, which gRPC requires): `TE` is
    /// hop-by-hop, so the exchange's head no longer says it.
    let acceptsTrailers: Bool
    private var scanner = HTTPHeadScanner()
    /// Bytes of the head not read yet.
    private var held = ByteBuffer()
    /// The body, once the head went; `nil` before, and after the end.
    private var body: HTTPBodyDecoder?
    /// Set once the stream's last frame is out.
    private(set) var ended = false

    init(acceptsTrailers: Bool) {
        self.acceptsTrailers = acceptsTrailers
    }

    /// Reads `bytes`, the next of the request, and appends the frames they make.
    mutating func read(_ bytes: ByteBuffer, into frames: inout [HTTP2Frame.FramePayload]) throws(HTTPParseError) {
        guard !ended else { return }
        var bytes = bytes
        if body == nil {
            held.writeBuffer(&bytes)
            guard case .complete(let skip, let length) = scanner.scan(held) else { return }
            held.moveReaderIndex(forwardBy: skip)
            let headBytes = held.readBytes(length: length) ?? []
            let head = try RequestHead(headBytes)
            let endStream = !head.hasBody
            frames.append(.headers(.init(headers: headers(of: head), endStream: endStream)))
            if endStream {
                ended = true
                return
            }
            body = HTTPBodyDecoder(head.chunked ? .chunked : .length(head.contentLength ?? 0))
            bytes = held
            held = ByteBuffer()
        }
        // The last data read is held until the next piece: when that is the body's end, the
        // data frame ends the stream itself. An empty DATA frame to end each stream would
        // count, on a busy connection, as a flood of them (swift-nio-http2 allows one in a row).
        var held: ByteBuffer?
        defer { if let held { frames.append(.data(.init(data: .byteBuffer(held)))) } }
        while var decoder = body {
            let piece = try decoder.next(from: &bytes)
            body = decoder
            guard let piece else { return }
            switch piece {
            case .data(let data):
                if let previous = held { frames.append(.data(.init(data: .byteBuffer(previous)))) }
                held = data
            case .end:
                body = nil
                ended = true
                let last = held ?? ByteBuffer()
                held = nil
                if let trailers = decoder.trailers, !trailers.fields.isEmpty {
                    if last.readableBytes > 0 { frames.append(.data(.init(data: .byteBuffer(last)))) }
                    frames.append(.headers(.init(headers: trailers.http2Trailers, endStream: true)))
                } else {
                    frames.append(.data(.init(data: .byteBuffer(last), endStream: true)))
                }
                return
            }
        }
    }

    /// The request's header block: the pseudo-fields, then the fields that HTTP/2 may carry.
    private func headers(of head: RequestHead) -> HPACKHeaders {
        var headers = HPACKHeaders()
        headers.reserveCapacity(head.fields.count + 5)
        headers.add(name: ":method", value: head.methodName)
        headers.add(name: ":scheme", value: "http")
        if let host = head.host { headers.add(name: ":authority", value: host) }
        headers.add(name: ":path", value: head.targetString)
        head.appendHTTP2Fields(to: &headers, droppingNames: head.connectionNames)
        headers.remove(name: "host")  // it is :authority
        if acceptsTrailers { headers.add(name: "te", value: "trailers") }
        return headers
    }
}
