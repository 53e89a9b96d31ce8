import NIOCore

/// Finds where an HTTP/1 head ends in bytes that arrive in pieces, without parsing it.
///
/// It remembers how far it looked, so each piece is scanned once. Every line must end in
/// CRLF: a bare LF is refused at once (a lenient reader and a strict one disagreeing on
/// where a line ends is how requests are smuggled). Empty lines before the start line are
/// skipped (RFC 9112 §2.2).
struct HTTPHeadScanner {
    /// What the bytes scanned so far hold.
    enum Result: Equatable {
        /// A whole head: `skip` bytes of empty lines, then `length` bytes of head, up to and
        /// including the blank line.
        case complete(skip: Int, length: Int)
        /// No end yet.
        case incomplete
        /// A line ends in LF without CR.
        case bareLineFeed
    }

    /// Bytes from the reader index already looked at.
    private var scanned = 0
    /// Where the current line begins.
    private var lineStart = 0
    /// Bytes of empty lines before the start line.
    private var leading = 0

    /// Looks at the bytes of `buffer` (from its reader index) not seen before.
    mutating func scan(_ buffer: ByteBuffer) -> Result {
        buffer.withUnsafeReadableBytes { bytes in
            var index = scanned
            let end = bytes.count
            while index < end {
                guard bytes[index] == 0x0A else {
                    index += 1
                    continue
                }
                guard index > 0, bytes[index - 1] == 0x0D else { return .bareLineFeed }
                let lineLength = index - 1 - lineStart
                if lineLength == 0 {
                    if lineStart == leading {
                        leading = index + 1  // an empty line before the start line
                    } else {
                        return .complete(skip: leading, length: index + 1 - leading)
                    }
                }
                lineStart = index + 1
                index += 1
            }
            scanned = end
            return .incomplete
        }
    }

    /// The bytes of the first whole head in `buffer`, if one is there (for tests and the
    /// fuzzer; the handlers scan as bytes arrive).
    static func firstHead(in buffer: ByteBuffer) -> [UInt8]? {
        var scanner = HTTPHeadScanner()
        guard case .complete(let skip, let length) = scanner.scan(buffer) else { return nil }
        return buffer.getBytes(at: buffer.readerIndex + skip, length: length)
    }

    /// Starts over, for the next head (after the reader index moved past this one).
    mutating func reset() {
        self = HTTPHeadScanner()
    }
}
