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

    /// A whole chunk, its size, `data` and the CRLF after, in one buffer: for data that is
    /// read once, where three writes would cost more than the copy.
    static func chunk(_ data: ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer {
        var chunk = chunkStart(data.readableBytes, allocator: allocator)
        chunk.reserveCapacity(minimumWritableBytes: data.readableBytes + 2)
        chunk.writeImmutableBuffer(data)
        chunk.writeStaticString("\r\n")
        return chunk
    }

    /// The CRLF after a chunk's data.
    static let chunkEnd = ByteBuffer(staticString: "\r\n")
    /// The last chunk and an empty trailer section.
    static let lastChunk = ByteBuffer(staticString: "0\r\n\r\n")

    /// The last chunk and the trailer fields of `trailers` that may go on: those the gateway
    /// gives no meaning to. The framing, routing and hop-by-hop fields it reads in a head
    /// (`Content-Length`, `Transfer-Encoding`, `Host`, `Connection` and the like) have none
    /// in a trailer section (RFC 9110 §6.5.1), and are dropped.
    static func lastChunk(trailers: HTTPFieldList?, allocator: ByteBufferAllocator) -> ByteBuffer {
        guard let trailers, trailers.fields.contains(where: { $0.kind == .other }) else { return lastChunk }
        var buffer = allocator.buffer(capacity: trailers.bytes.count + 3)
        buffer.writeStaticString("0\r\n")
        var run = FieldRun()
        for field in trailers.fields {
            if field.kind == .other {
                run.keep(field)
            } else {
                run.write(from: trailers.bytes, to: &buffer)
            }
        }
        run.write(from: trailers.bytes, to: &buffer)
        buffer.writeStaticString("\r\n")
        return buffer
    }
}
