import NIOCore

/// Writing a body in chunks (RFC 9112 §7.1): each piece as it comes, behind its size.
enum ChunkedEncoding {
    /// `SIZE CRLF`, before a chunk's data.
    static func chunkStart(_ size: Int, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 18)
        buffer.writeString(String(size, radix: 16))
        buffer.writeStaticString("\r\n")
        return buffer
    }

    /// The CRLF after a chunk's data.
    static let chunkEnd = ByteBuffer(staticString: "\r\n")
    /// The last chunk and an empty trailer section.
    static let lastChunk = ByteBuffer(staticString: "0\r\n\r\n")
}
