import NIOCore

/// The client's side of the I/O: the connection's channel for HTTP/1.1, or the
/// ``HTTP2ClientStream`` the handler serves, which makes frames of what it is given.
extension ProxyHandler {
    /// Buffers for the client and the instance: the default allocator, which every channel
    /// of the gateway uses.
    static let allocator = ByteBufferAllocator()

    /// Whether the client is still there: the handler is in its connection's pipeline, or its
    /// stream is open.
    var isOpen: Bool { context != nil || stream != nil }

    /// Whether the client takes more of the response now.
    var clientIsWritable: Bool {
        if let stream { return stream.isWritable }
        return context?.channel.isWritable ?? false
    }

    /// Writes `bytes` to the client, unflushed.
    func clientWrite(_ bytes: ByteBuffer) {
        if let stream {
            stream.write(bytes)
        } else {
            context?.write(wrapOutboundOut(bytes), promise: nil)
        }
    }

    /// Sends what was written to the client.
    func clientFlush() {
        if let stream {
            stream.flush()
        } else {
            context?.flush()
        }
    }

    /// Closes the client's connection, or its stream, now: a response not yet whole is cut short.
    func closeClient() {
        if let stream {
            stream.close()
        } else {
            context?.close(promise: nil)
        }
    }

    /// Starts or stops reading the client: its socket, or its stream's frames (whose credit
    /// waits with them, so that the client's flow-control window holds it back).
    func clientSetReading(_ reading: Bool) {
        if let stream {
            stream.setReading(reading)
            return
        }
        guard let context else { return }
        context.channel.setOption(ChannelOptions.autoRead, value: reading).whenFailure { _ in }
        if reading { context.read() }
    }

    /// The client's connection: for an HTTP/2 stream, the connection that carries it.
    var clientConnection: (any Channel)? {
        stream?.connectionChannel ?? context?.channel
    }
}
