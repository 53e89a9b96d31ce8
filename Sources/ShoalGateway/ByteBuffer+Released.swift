import NIOCore

extension ByteBuffer {
    /// What a handler holds in place of a read buffer whose bytes it has all handled: letting
    /// go of the buffer lets NIO reuse it for the next read instead of allocating another.
    static let released = ByteBuffer()
}
