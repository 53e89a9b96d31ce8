import NIOCore

/// A byte array that each head is copied into in turn. Once the head made from the last
/// copy is gone, the array's storage is the holder's alone, and the next copy goes into it
/// without an allocation; while a head still holds it, the next copy gets storage of its own.
struct ReusedBytes {
    private(set) var bytes: [UInt8] = []

    /// Replaces the bytes with the next `length` readable bytes of `buffer`, which it reads.
    mutating func read(_ length: Int, from buffer: inout ByteBuffer) {
        bytes.removeAll(keepingCapacity: true)
        buffer.withUnsafeReadableBytes { readable in
            bytes.append(contentsOf: readable.prefix(length))
        }
        buffer.moveReaderIndex(forwardBy: length)
    }
}
