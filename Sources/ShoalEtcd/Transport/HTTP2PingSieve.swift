import NIOCore

/// Takes the server's PING frames out of an inbound HTTP/2 byte stream, so that they can be
/// answered below the HTTP/2 codec (see ``HTTP2PingAnswerer``); every other byte passes
/// through unchanged and in order.
///
/// Only well-formed pings are taken: type 6, no ACK flag, stream 0, 8 bytes of payload. A
/// malformed one passes through for the codec to refuse, and ping acknowledgements (answers to
/// the client's own keepalive pings) pass through for the codec to match.
///
/// The stream must start at a frame boundary: after the server's preface, as a client sees it.
struct HTTP2PingSieve {
    /// Where the sieve is in the frame it is reading.
    private enum State {
        /// Reading a frame header: the bytes of it seen so far (fewer than 9).
        case header(ByteBuffer)
        /// Passing on this many more payload bytes of a frame that is not a ping.
        case passing(Int)
        /// Collecting a ping's 8 payload bytes: those seen so far.
        case ping(ByteBuffer)
    }

    private var state = State.header(ByteBuffer())

    /// The bytes to pass on, and the payloads of the pings taken out, in order.
    struct Sifted {
        var passed: ByteBuffer
        var pings: [UInt64]
    }

    static let headerLength = 9
    static let pingType: UInt8 = 6
    static let ackFlag: UInt8 = 1

    /// Sifts the next bytes read. A frame header split across reads is held back until it is
    /// whole (the codec could not read it before then either).
    mutating func sift(_ input: ByteBuffer) -> Sifted {
        var input = input
        var passed = ByteBuffer()
        var pings: [UInt64] = []
        // Unchanged input is passed on as it is, without a copy.
        var unchanged = true
        if case .header(let held) = state, held.readableBytes > 0 { unchanged = false }
        if case .ping = state { unchanged = false }
        let whole = input
        while input.readableBytes > 0 {
            switch state {
            case .passing(let left):
                let count = min(left, input.readableBytes)
                passed.writeImmutableBuffer(input.readSlice(length: count)!)
                state = count == left ? .header(ByteBuffer()) : .passing(left - count)
            case .header(var bytes):
                let count = min(Self.headerLength - bytes.readableBytes, input.readableBytes)
                bytes.writeImmutableBuffer(input.readSlice(length: count)!)
                guard bytes.readableBytes == Self.headerLength else {
                    state = .header(bytes)
                    unchanged = false
                    continue
                }
                let view = bytes.readableBytesView
                let length = view.prefix(3).reduce(0) { $0 << 8 | Int($1) }
                let type = view[view.startIndex + 3]
                let flags = view[view.startIndex + 4]
                let stream = view.dropFirst(5).reduce(UInt32(0)) { $0 << 8 | UInt32($1) } & 0x7fff_ffff
                if type == Self.pingType, flags & Self.ackFlag == 0, stream == 0, length == 8 {
                    state = .ping(ByteBuffer())
                    unchanged = false
                } else {
                    passed.writeImmutableBuffer(bytes)
                    state = length == 0 ? .header(ByteBuffer()) : .passing(length)
                }
            case .ping(var payload):
                let count = min(8 - payload.readableBytes, input.readableBytes)
                payload.writeImmutableBuffer(input.readSlice(length: count)!)
                if payload.readableBytes == 8 {
                    pings.append(payload.readInteger(as: UInt64.self)!)
                    state = .header(ByteBuffer())
                } else {
                    state = .ping(payload)
                }
            }
        }
        return Sifted(passed: unchanged ? whole : passed, pings: pings)
    }

    /// A PING frame with the ACK flag: the answer to a ping with `payload`.
    static func acknowledgement(_ payload: UInt64, allocator: ByteBufferAllocator) -> ByteBuffer {
        var frame = allocator.buffer(capacity: headerLength + 8)
        frame.writeBytes([0, 0, 8, pingType, ackFlag, 0, 0, 0, 0])
        frame.writeInteger(payload)
        return frame
    }
}
