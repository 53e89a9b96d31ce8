import NIOCore

/// Decodes RESP2 and RESP3 values from received bytes, incrementally.
///
/// The decoder keeps no state between calls: ``decode(from:)`` parses from the front of the
/// buffer and either returns a whole value (consuming its bytes) or `nil` when more bytes are
/// needed (consuming nothing). Feed it the bytes as they arrive and call it until it returns
/// `nil`:
///
/// ```swift
/// let decoder = RESPDecoder()
/// received.writeBytes(chunk)
/// while let reply = try decoder.decode(from: &received) {
///     handle(reply)
/// }
/// ```
///
/// Every length is checked against ``RESPLimits`` before anything is allocated for it, so a
/// peer cannot make the decoder reserve more memory than the bytes it has actually sent. A
/// violation throws ``RESPProtocolError``; the stream cannot be resynchronised after one.
///
/// An incomplete aggregate is parsed again from its start when more bytes arrive. Bulk
/// payloads are checked by length, not scanned, so a large bulk string arriving in many
/// chunks costs little; an aggregate of very many small elements arriving in very many small
/// chunks costs time quadratic in its size.
public struct RESPDecoder: Sendable {
    public var limits: RESPLimits

    public init(limits: RESPLimits = RESPLimits()) {
        self.limits = limits
    }

    /// Decodes one value from the front of `buffer`.
    ///
    /// - Returns: the value, with its bytes consumed; or `nil` when the buffer does not yet
    ///   hold a whole value, with nothing consumed.
    /// - Throws: ``RESPProtocolError`` for bytes that are not RESP or exceed a limit.
    public func decode(from buffer: inout ByteBuffer) throws(RESPProtocolError) -> RESPValue? {
        var parser = RESPParser(buffer: buffer, limits: limits)
        guard let value = try parser.value(depth: 0) else { return nil }
        buffer.moveReaderIndex(forwardBy: parser.offset)
        return value
    }
}

/// One attempt to parse a value from the readable bytes of a buffer.
struct RESPParser {
    let buffer: ByteBuffer
    let limits: RESPLimits
    /// Bytes parsed so far, from the buffer's reader index.
    private(set) var offset = 0

    init(buffer: ByteBuffer, limits: RESPLimits) {
        self.buffer = buffer
        self.limits = limits
    }

    private var available: Int { buffer.readableBytes - offset }

    private func byte(at offset: Int) -> UInt8? {
        offset < buffer.readableBytes ? buffer.getInteger(at: buffer.readerIndex + offset, as: UInt8.self) : nil
    }

    private func fail(_ code: RESPProtocolError.Code, _ message: String, at position: Int? = nil) -> RESPProtocolError {
        RESPProtocolError(code, at: position ?? offset, message)
    }

    /// Parses the value at `offset`; `nil` if incomplete.
    mutating func value(depth: Int) throws(RESPProtocolError) -> RESPValue? {
        guard let type = byte(at: offset) else { return nil }
        let start = offset
        offset += 1
        switch type {
        case UInt8(ascii: "+"):
            return try line().map { .simpleString($0) }
        case UInt8(ascii: "-"):
            return try line().map { .simpleError($0) }
        case UInt8(ascii: ":"):
            guard let line = try line() else { return nil }
            return .integer(try integer(line, at: start + 1))
        case UInt8(ascii: ","):
            guard let line = try line() else { return nil }
            return .double(try double(line, at: start + 1))
        case UInt8(ascii: "#"):
            guard let line = try line() else { return nil }
            switch String(buffer: line) {
            case "t": return .boolean(true)
            case "f": return .boolean(false)
            default: throw fail(.invalidBoolean, "a boolean must be #t or #f", at: start + 1)
            }
        case UInt8(ascii: "_"):
            guard let line = try line() else { return nil }
            guard line.readableBytes == 0 else {
                throw fail(.missingTerminator, "null must be _ then CRLF", at: start + 1)
            }
            return .null
        case UInt8(ascii: "("):
            guard let line = try line() else { return nil }
            try checkBigNumber(line, at: start + 1)
            return .bigNumber(line)
        case UInt8(ascii: "$"):
            return try bulk(allowingNull: true).map { $0.map(RESPValue.bulkString) ?? .null }
        case UInt8(ascii: "!"):
            return try bulk(allowingNull: false).map { .blobError($0!) }
        case UInt8(ascii: "="):
            guard let payload = try bulk(allowingNull: false).map({ $0! }) else { return nil }
            let formatIsText =
                payload.readableBytes >= 4
                && payload.withUnsafeReadableBytes { bytes in
                    bytes[0..<3].allSatisfy { (0x21...0x7E).contains($0) } && bytes[3] == UInt8(ascii: ":")
                }
            guard formatIsText else {
                throw fail(
                    .invalidLength, "a verbatim string must start with a three-character ASCII format and ':'",
                    at: start)
            }
            let format = String(buffer: payload.getSlice(at: payload.readerIndex, length: 3)!)
            return .verbatimString(
                format: format, payload.getSlice(at: payload.readerIndex + 4, length: payload.readableBytes - 4)!)
        case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"):
            guard let count = try count(allowingNull: type == UInt8(ascii: "*"), depth: depth, at: start) else {
                return nil
            }
            guard count >= 0 else { return .null }
            var elements: [RESPValue] = []
            elements.reserveCapacity(min(count, 1024))
            for _ in 0..<count {
                guard let element = try value(depth: depth + 1) else { return nil }
                elements.append(element)
            }
            switch type {
            case UInt8(ascii: "*"): return .array(elements)
            case UInt8(ascii: "~"): return .set(elements)
            default: return .push(elements)
            }
        case UInt8(ascii: "%"), UInt8(ascii: "|"):
            guard let count = try count(allowingNull: false, depth: depth, at: start) else { return nil }
            var entries: [RESPMapEntry] = []
            entries.reserveCapacity(min(count, 1024))
            for _ in 0..<count {
                guard let key = try value(depth: depth + 1), let value = try value(depth: depth + 1) else { return nil }
                entries.append(RESPMapEntry(key: key, value: value))
            }
            if type == UInt8(ascii: "%") { return .map(entries) }
            // Attributes describe the value that follows them. That value counts one level
            // deeper, so a chain of attributes cannot recurse without limit.
            guard let value = try value(depth: depth + 1) else { return nil }
            return .attributed(attributes: entries, value: value)
        default:
            throw fail(.unknownType, "byte \(type) does not start any RESP type", at: start)
        }
    }

    /// The bytes before the next CRLF, moving past it; `nil` if no CRLF has arrived yet.
    /// A CR or LF alone inside a line is an error: RESP lines cannot contain them.
    private mutating func line() throws(RESPProtocolError) -> ByteBuffer? {
        let start = offset
        let end = buffer.withUnsafeReadableBytes { bytes -> Int? in
            var index = start
            let limit = min(bytes.count, start + limits.maximumLineLength + 2)
            while index < limit {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\n") { return index }
                index += 1
            }
            return nil
        }
        guard let end else {
            if available > limits.maximumLineLength + 1 {
                throw fail(.lineTooLong, "a line is longer than \(limits.maximumLineLength) bytes")
            }
            return nil
        }
        guard byte(at: end) == UInt8(ascii: "\r") else {
            throw fail(.missingTerminator, "a line feed without a carriage return", at: end)
        }
        guard let next = byte(at: end + 1) else { return nil }
        guard next == UInt8(ascii: "\n") else {
            throw fail(.missingTerminator, "a carriage return not followed by a line feed", at: end)
        }
        if end - start > limits.maximumLineLength {
            throw fail(.lineTooLong, "a line is longer than \(limits.maximumLineLength) bytes", at: start)
        }
        offset = end + 2
        return buffer.getSlice(at: buffer.readerIndex + start, length: end - start)
    }

    /// A bulk payload after its length line; `.some(nil)` for RESP2's `-1` null.
    private mutating func bulk(allowingNull: Bool) throws(RESPProtocolError) -> ByteBuffer?? {
        let lengthAt = offset
        guard let line = try line() else { return nil }
        if line.readableBytes == 1 && line.getInteger(at: line.readerIndex, as: UInt8.self) == UInt8(ascii: "?") {
            throw fail(.unsupported, "streamed strings ($?) are not supported", at: lengthAt)
        }
        let length = try integer(line, at: lengthAt, code: .invalidLength)
        if length == -1 && allowingNull { return .some(nil) }
        guard length >= 0 else { throw fail(.invalidLength, "a bulk length must be ≥ 0, not \(length)", at: lengthAt) }
        guard length <= limits.maximumBulkLength else {
            throw fail(
                .bulkTooLong, "a bulk of \(length) bytes is over the limit of \(limits.maximumBulkLength)", at: lengthAt
            )
        }
        let size = Int(length)
        guard available >= size + 2 else { return nil }
        guard byte(at: offset + size) == UInt8(ascii: "\r"), byte(at: offset + size + 1) == UInt8(ascii: "\n") else {
            throw fail(.missingTerminator, "a bulk payload of \(size) bytes is not followed by CRLF", at: offset + size)
        }
        let payload = buffer.getSlice(at: buffer.readerIndex + offset, length: size)!
        offset += size + 2
        return .some(payload)
    }

    /// An aggregate's element count; -1 for RESP2's null array.
    private mutating func count(allowingNull: Bool, depth: Int, at start: Int) throws(RESPProtocolError) -> Int? {
        guard depth < limits.maximumDepth else {
            throw fail(.nestedTooDeep, "aggregates nest deeper than \(limits.maximumDepth)", at: start)
        }
        let countAt = offset
        guard let line = try line() else { return nil }
        if line.readableBytes == 1 && line.getInteger(at: line.readerIndex, as: UInt8.self) == UInt8(ascii: "?") {
            throw fail(.unsupported, "streamed aggregates (?) are not supported", at: countAt)
        }
        let count = try integer(line, at: countAt, code: .invalidLength)
        if count == -1 && allowingNull { return -1 }
        guard count >= 0 else { throw fail(.invalidLength, "a count must be ≥ 0, not \(count)", at: countAt) }
        guard count <= limits.maximumAggregateCount else {
            throw fail(
                .aggregateTooLarge,
                "an aggregate of \(count) elements is over the limit of \(limits.maximumAggregateCount)",
                at: countAt)
        }
        return Int(count)
    }

    /// A signed 64-bit decimal, with an optional sign.
    private func integer(
        _ line: ByteBuffer, at position: Int, code: RESPProtocolError.Code = .invalidInteger
    ) throws(RESPProtocolError) -> Int64 {
        let parsed = line.withUnsafeReadableBytes { bytes -> Int64? in
            var index = 0
            var negative = false
            if index < bytes.count && (bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+")) {
                negative = bytes[index] == UInt8(ascii: "-")
                index += 1
            }
            guard index < bytes.count else { return nil }
            var value: Int64 = 0
            while index < bytes.count {
                let digit = bytes[index] &- UInt8(ascii: "0")
                guard digit < 10 else { return nil }
                let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) =
                    negative
                    ? times.subtractingReportingOverflow(Int64(digit)) : times.addingReportingOverflow(Int64(digit))
                guard !overflow1, !overflow2 else { return nil }
                value = sum
                index += 1
            }
            return value
        }
        guard let parsed else {
            throw fail(code, "'\(String(buffer: line))' is not a signed 64-bit decimal integer", at: position)
        }
        return parsed
    }

    /// A RESP3 double: decimal with optional fraction and exponent, or inf, -inf, nan.
    private func double(_ line: ByteBuffer, at position: Int) throws(RESPProtocolError) -> Double {
        let text = String(buffer: line)
        switch text {
        case "inf", "+inf": return .infinity
        case "-inf": return -.infinity
        case "nan", "-nan": return .nan
        default: break
        }
        let allowed = text.utf8.allSatisfy {
            ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e")
                || $0 == UInt8(ascii: "E") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "+")
        }
        guard allowed, let value = Double(text), value.isFinite else {
            throw fail(.invalidDouble, "'\(text)' is not a RESP double", at: position)
        }
        return value
    }

    /// A big number: an optional sign and at least one digit.
    private func checkBigNumber(_ line: ByteBuffer, at position: Int) throws(RESPProtocolError) {
        let valid = line.withUnsafeReadableBytes { bytes -> Bool in
            var index = 0
            if index < bytes.count && (bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+")) {
                index += 1
            }
            guard index < bytes.count else { return false }
            return bytes[index...].allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
        }
        guard valid else { throw fail(.invalidInteger, "'\(String(buffer: line))' is not a big number", at: position) }
    }
}
