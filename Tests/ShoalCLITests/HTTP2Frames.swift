import ShoalTesting

/// HTTP/2 frames as bytes (RFC 9113 §4.1), for sending what no well-behaved client would:
/// floods, resets in a loop, header blocks that never end. Header blocks use HPACK literals
/// without Huffman coding (RFC 7541 §6.2), which any decoder must take.
enum HTTP2Frames {
    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    enum Kind: UInt8 {
        case data = 0, headers = 1, rstStream = 3, settings = 4, ping = 6, goAway = 7, windowUpdate = 8,
            continuation = 9
    }

    static let endStream: UInt8 = 0x1
    static let endHeaders: UInt8 = 0x4
    static let ack: UInt8 = 0x1

    static func frame(_ kind: Kind, flags: UInt8 = 0, stream: UInt32 = 0, _ payload: [UInt8] = []) -> [UInt8] {
        let length = payload.count
        return [UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF), kind.rawValue, flags]
            + bigEndian(stream & 0x7FFF_FFFF) + payload
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    /// An HPACK integer with an `prefix`-bit prefix whose other bits are `flags` (RFC 7541 §5.1).
    static func integer(_ value: Int, prefix: Int, flags: UInt8 = 0) -> [UInt8] {
        let limit = (1 << prefix) - 1
        guard value >= limit else { return [flags | UInt8(value)] }
        var bytes = [flags | UInt8(limit)]
        var rest = value - limit
        while rest >= 128 {
            bytes.append(UInt8(rest % 128 + 128))
            rest /= 128
        }
        return bytes + [UInt8(rest)]
    }

    static func string(_ text: String) -> [UInt8] {
        integer(text.utf8.count, prefix: 7) + Array(text.utf8)
    }

    /// A literal field, not indexed (RFC 7541 §6.2.2), or with `indexing`, added to the
    /// dynamic table (§6.2.1).
    static func literal(_ name: String, _ value: String, indexing: Bool = false) -> [UInt8] {
        [indexing ? 0x40 : 0x00] + string(name) + string(value)
    }

    /// A field from the tables by index (RFC 7541 §6.1): 62 is the dynamic table's newest.
    static func indexed(_ index: Int) -> [UInt8] { integer(index, prefix: 7, flags: 0x80) }

    /// The header block of `GET path` with `authority`.
    static func get(_ path: String, authority: String = "gateway") -> [UInt8] {
        literal(":method", "GET") + literal(":scheme", "http") + literal(":path", path) + literal(":authority", authority)
    }

    /// What a client sends first: the preface and empty `SETTINGS` (or `settings`, as
    /// (identifier, value) pairs).
    static func opening(settings: [(UInt16, UInt32)] = []) -> [UInt8] {
        preface + frame(.settings, settings.flatMap { [UInt8($0.0 >> 8), UInt8($0.0 & 0xFF)] + bigEndian($0.1) })
    }

    /// Reads until the peer closes or a read times out, as a client does: each `PING` gets
    /// its `ACK` (a graceful close, as swift-nio-http2 makes it, waits for one between its two
    /// `GOAWAY`s). Everything read, and how the read ended.
    static func readAnsweringPings(_ connection: RawConnection) -> (bytes: [UInt8], end: RawConnection.ReadEnd) {
        var bytes: [UInt8] = []
        var answered = 0
        while true {
            let read = connection.receiveUntilClosed(limit: 1)
            bytes += read.bytes
            let pings = parse(bytes).filter { $0.kind == Kind.ping.rawValue && $0.flags == 0 }
            for ping in pings.dropFirst(answered) { connection.send(frame(.ping, flags: ack, ping.payload)) }
            answered = pings.count
            if read.end != .limit { return (bytes, read.end) }
        }
    }

    /// The frames in `bytes`, as (kind, flags, stream, payload), as far as they are whole.
    static func parse(_ bytes: [UInt8]) -> [(kind: UInt8, flags: UInt8, stream: UInt32, payload: [UInt8])] {
        var frames: [(UInt8, UInt8, UInt32, [UInt8])] = []
        var at = 0
        while at + 9 <= bytes.count {
            let length = Int(bytes[at]) << 16 | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2])
            guard at + 9 + length <= bytes.count else { break }
            let stream = bytes[at + 5..<at + 9].reduce(UInt32(0)) { $0 << 8 | UInt32($1) } & 0x7FFF_FFFF
            frames.append((bytes[at + 3], bytes[at + 4], stream, Array(bytes[at + 9..<at + 9 + length])))
            at += 9 + length
        }
        return frames
    }
}
