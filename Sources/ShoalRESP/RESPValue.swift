import NIOCore

/// One RESP2 or RESP3 value, as a Redis server sends it.
///
/// String payloads are `ByteBuffer` slices of the bytes received, not copies.
///
/// ```swift
/// var decoder = RESPDecoder()
/// if let reply = try decoder.decode(from: &buffer) {
///     if case .bulkString(let bytes) = reply { print(String(buffer: bytes)) }
/// }
/// ```
public indirect enum RESPValue: Sendable, Hashable {
    /// `+OK` — a short, binary-unsafe status string.
    case simpleString(ByteBuffer)
    /// `-ERR message` — an error reply in one line.
    case simpleError(ByteBuffer)
    /// `!<length>` — an error reply of any bytes (RESP3).
    case blobError(ByteBuffer)
    /// `:<integer>` — a signed 64-bit integer.
    case integer(Int64)
    /// `,<double>` — a double, including `inf`, `-inf` and `nan` (RESP3).
    case double(Double)
    /// `#t` or `#f` (RESP3).
    case boolean(Bool)
    /// `_` (RESP3), or RESP2's null bulk string `$-1` and null array `*-1`.
    case null
    /// `(<digits>` — an integer of any size, as its decimal digits (RESP3).
    case bigNumber(ByteBuffer)
    /// `$<length>` — any bytes.
    case bulkString(ByteBuffer)
    /// `=<length>` — text with a three-character ASCII format such as `txt` or `mkd` (RESP3).
    /// Encoding writes a format that is not three printable ASCII characters as `txt`.
    case verbatimString(format: String, ByteBuffer)
    /// `*<count>` — an ordered list.
    case array([RESPValue])
    /// `%<count>` — key–value pairs in the order received (RESP3).
    case map([RESPMapEntry])
    /// `~<count>` — an unordered collection (RESP3), in the order received.
    case set([RESPValue])
    /// `><count>` — out-of-band data such as pub/sub messages (RESP3).
    case push([RESPValue])
    /// `|<count>` — attributes that precede a value (RESP3), and that value.
    case attributed(attributes: [RESPMapEntry], value: RESPValue)
}

/// A key and its value in a RESP3 map or attribute.
public struct RESPMapEntry: Sendable, Hashable {
    public var key: RESPValue
    public var value: RESPValue

    public init(key: RESPValue, value: RESPValue) {
        self.key = key
        self.value = value
    }
}

extension RESPValue {
    /// The payload as a `String` for the string-like cases (simple, bulk, verbatim, errors,
    /// big numbers); `nil` for others.
    public var string: String? {
        switch self {
        case .simpleString(let bytes), .simpleError(let bytes), .blobError(let bytes), .bulkString(let bytes),
            .bigNumber(let bytes), .verbatimString(_, let bytes):
            String(buffer: bytes)
        default:
            nil
        }
    }

    /// Whether the value is an error reply (simple or blob).
    public var isError: Bool {
        switch self {
        case .simpleError, .blobError: true
        default: false
        }
    }
}
