import NIOCore

/// Reads a message body in whatever pieces its bytes arrive, by its framing (RFC 9112 §6–7):
/// a length, chunks, or the connection's end.
///
/// Chunked bodies are decoded strictly: hexadecimal sizes of at most 15 digits, extensions
/// skipped, CRLF after every size and every chunk's data, and trailer fields parsed as a
/// head's fields are (``trailers``). Data comes out as slices of the received buffer, never
/// copied.
struct HTTPBodyDecoder {
    enum Framing: Equatable {
        case length(Int)
        case chunked
        /// Until the connection closes (a response without length or chunks).
        case untilClose

        /// How a body framed like this goes to a client of HTTP/1.`minorVersion`: a length
        /// as it is; chunks, or a body of unknown length, chunked to HTTP/1.1 and to the
        /// connection's end to HTTP/1.0.
        func forClient(minorVersion: Int) -> Framing {
            switch self {
            case .length: self
            case .chunked, .untilClose: minorVersion >= 1 ? .chunked : .untilClose
            }
        }
    }

    /// What `next` found.
    enum Piece {
        case data(ByteBuffer)
        case end
    }

    private enum State {
        case length(remaining: Int)
        case chunkSize(size: Int, digits: Int)
        case chunkExtension(size: Int, length: Int)
        case chunkSizeLF(size: Int)
        case chunkData(remaining: Int)
        case chunkDataCR
        case chunkDataLF
        case trailer(lineLength: Int, total: Int)
        case trailerLF(lineLength: Int, total: Int)
        case untilClose
        case done
    }

    /// The longest chunk extension and trailer section read before refusing the body.
    static let maxExtensionBytes = 4096
    static let maxTrailerBytes = 16384

    private var state: State
    /// The trailer section's bytes while it is read: empty unless it has a field.
    private var trailerBytes: [UInt8] = []
    /// The trailer fields of a chunked body, once it ended with any.
    private(set) var trailers: HTTPFieldList?

    init(_ framing: Framing) {
        switch framing {
        case .length(let length): state = length == 0 ? .done : .length(remaining: length)
        case .chunked: state = .chunkSize(size: 0, digits: 0)
        case .untilClose: state = .untilClose
        }
    }

    /// The next piece of the body from `buffer`, reading past it; `nil` when `buffer` holds
    /// no more of it yet. After `.end`, what is left in `buffer` is the next message's.
    mutating func next(from buffer: inout ByteBuffer) throws(HTTPParseError) -> Piece? {
        while true {
            switch state {
            case .done:
                return .end
            case .untilClose:
                guard buffer.readableBytes > 0 else { return nil }
                return .data(buffer.readSlice(length: buffer.readableBytes)!)
            case .length(let remaining):
                guard buffer.readableBytes > 0 else { return nil }
                let count = min(remaining, buffer.readableBytes)
                state = count == remaining ? .done : .length(remaining: remaining - count)
                return .data(buffer.readSlice(length: count)!)
            case .chunkData(let remaining):
                guard buffer.readableBytes > 0 else { return nil }
                let count = min(remaining, buffer.readableBytes)
                state = count == remaining ? .chunkDataCR : .chunkData(remaining: remaining - count)
                return .data(buffer.readSlice(length: count)!)
            default:
                guard let byte = buffer.readInteger(as: UInt8.self) else { return nil }
                try framingByte(byte)
            }
        }
    }

    /// The body's connection closed: whether that ends the body (only when it is framed by
    /// the close), else it was cut short.
    mutating func connectionClosed() -> Bool {
        switch state {
        case .untilClose, .done:
            state = .done
            return true
        default:
            return false
        }
    }

    /// One byte of chunk framing: sizes, extensions, line ends and trailers.
    private mutating func framingByte(_ byte: UInt8) throws(HTTPParseError) {
        let cr = HTTPHeadParser.cr
        let lf = HTTPHeadParser.lf
        switch state {
        case .chunkSize(let size, let digits):
            if let digit = Self.hexValue(byte) {
                guard digits < 15 else { throw HTTPParseError("malformed chunked body: a chunk size is too long") }
                state = .chunkSize(size: size << 4 | digit, digits: digits + 1)
            } else if digits == 0 {
                throw HTTPParseError("malformed chunked body: a chunk must start with its size in hexadecimal")
            } else if byte == cr {
                state = .chunkSizeLF(size: size)
            } else if byte == lf {
                throw HTTPParseError("malformed chunked body: LF without CR")
            } else if byte == UInt8(ascii: ";") || byte == HTTPHeadParser.space || byte == HTTPHeadParser.tab {
                state = .chunkExtension(size: size, length: 1)
            } else {
                throw HTTPParseError("malformed chunked body: a chunk size must be hexadecimal")
            }
        case .chunkExtension(let size, let length):
            if byte == cr {
                state = .chunkSizeLF(size: size)
            } else {
                guard ASCIISet.fieldValue.contains(byte), length < Self.maxExtensionBytes else {
                    throw HTTPParseError("malformed chunked body: a bad or too long chunk extension")
                }
                state = .chunkExtension(size: size, length: length + 1)
            }
        case .chunkSizeLF(let size):
            guard byte == lf else { throw HTTPParseError("malformed chunked body: CR without LF") }
            state = size == 0 ? .trailer(lineLength: 0, total: 0) : .chunkData(remaining: size)
        case .chunkDataCR:
            guard byte == cr else { throw HTTPParseError("malformed chunked body: a chunk is longer than its size") }
            state = .chunkDataLF
        case .chunkDataLF:
            guard byte == lf else { throw HTTPParseError("malformed chunked body: CR without LF") }
            state = .chunkSize(size: 0, digits: 0)
        case .trailer(let lineLength, let total):
            guard total < Self.maxTrailerBytes else { throw HTTPParseError("the trailer fields are too long") }
            if byte == cr {
                state = .trailerLF(lineLength: lineLength, total: total + 1)
            } else {
                guard ASCIISet.fieldValue.contains(byte) else {
                    throw HTTPParseError("malformed chunked body: a trailer field holds a control byte")
                }
                state = .trailer(lineLength: lineLength + 1, total: total + 1)
            }
            // Kept from a section's first field on: most bodies end without one.
            if total > 0 || byte != cr { trailerBytes.append(byte) }
        case .trailerLF(let lineLength, let total):
            guard byte == lf else { throw HTTPParseError("malformed chunked body: CR without LF") }
            if !trailerBytes.isEmpty { trailerBytes.append(byte) }
            guard lineLength == 0 else {
                state = .trailer(lineLength: 0, total: total + 1)
                return
            }
            state = .done
            if !trailerBytes.isEmpty { try readTrailers() }
        case .length, .chunkData, .untilClose, .done:
            preconditionFailure("data states are read in next(from:)")
        }
    }

    /// Parses the trailer section read, strictly, as a head's fields are.
    private mutating func readTrailers() throws(HTTPParseError) {
        let bytes = trailerBytes
        trailerBytes = []
        do {
            var fields: [HTTPField] = []
            try bytes.withUnsafeBufferPointer { bytes throws(HTTPParseError) in
                try HTTPHeadParser.fields(bytes, from: 0, into: &fields)
            }
            trailers = HTTPFieldList(bytes: bytes, fields: fields)
        } catch {
            throw HTTPParseError("malformed chunked body: in the trailer fields, \(error.message)")
        }
    }

    private static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }
}
