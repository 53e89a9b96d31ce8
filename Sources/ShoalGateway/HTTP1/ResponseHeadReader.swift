import NIOCore

/// Reads response heads off bytes that arrive in pieces: ``HTTPHeadScanner`` finds a head's
/// end, ``ResponseHead`` parses it. Storage for each head's bytes and fields is used again
/// once the last head is gone, so that reading a head allocates nothing. Used for an
/// instance's responses (``UpstreamConnection``) and for the answers an HTTP/2 stream's
/// proxy handler writes as bytes, its own errors (``HTTP2ClientStream``).
struct ResponseHeadReader {
    private var scanner = HTTPHeadScanner()
    private var headBytes = ReusedBytes()
    private var headFields: [HTTPField] = []

    /// The next head in `buffer`, its bytes consumed, once all of it is there; `nil` until
    /// then. An error when the bytes are not a head, or when more than `maxBytes` came
    /// without its end.
    mutating func read(from buffer: inout ByteBuffer, maxBytes: Int = .max) throws(HTTPParseError) -> ResponseHead? {
        switch scanner.scan(buffer) {
        case .incomplete:
            if buffer.readableBytes > maxBytes {
                throw HTTPParseError("the response head is over \(maxBytes) bytes")
            }
            return nil
        case .bareLineFeed:
            throw HTTPParseError("malformed response: a line ends in LF without CR")
        case .complete(let skip, let length):
            buffer.moveReaderIndex(forwardBy: skip)
            headBytes.read(length, from: &buffer)
            scanner.reset()
            return try ResponseHead(headBytes.bytes, fieldStorage: &headFields)
        }
    }
}
