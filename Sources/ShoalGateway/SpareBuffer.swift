import NIOCore

/// A buffer kept after use, handed out again for the next head of its kind: once the
/// channel wrote it and everyone else let go, clearing it reuses its storage, so a head
/// costs no allocation. While something still holds it, the next head gets a new one.
struct SpareBuffer {
    private var buffer: ByteBuffer?

    /// An empty buffer with room for at least `capacity` bytes.
    mutating func take(capacity: Int, allocator: ByteBufferAllocator) -> ByteBuffer {
        guard var spare = buffer.take() else { return allocator.buffer(capacity: capacity) }
        spare.clear(minimumCapacity: capacity)
        return spare
    }

    /// Keeps `buffer` for the next ``take(capacity:allocator:)``. Call once it will not be
    /// written to again: keeping it makes a second reference, and a write would copy it.
    mutating func keep(_ buffer: ByteBuffer) {
        self.buffer = buffer
    }
}
