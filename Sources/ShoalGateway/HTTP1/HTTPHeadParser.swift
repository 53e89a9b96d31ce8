/// The syntax both kinds of head share (RFC 9112 §2–5), parsed strictly: field names are
/// tokens with the colon right after them, values hold no control byte but tab, lines end
/// in CRLF, and obsolete line folding is refused.
///
/// Every function takes the head's bytes, which end in the blank line ("\r\n\r\n") that
/// ``HTTPHeadScanner`` found, and an index into them.
enum HTTPHeadParser {
    static let cr = UInt8(ascii: "\r")
    static let lf = UInt8(ascii: "\n")
    static let space = UInt8(ascii: " ")
    static let tab = UInt8(ascii: "\t")

    /// The field lines from `index` to the blank line, in `fields` (emptied first, its
    /// storage kept: a caller that passes the same array each time, once the last head made
    /// from it is gone, allocates none).
    static func fields(
        _ bytes: UnsafeBufferPointer<UInt8>, from index: Int, into fields: inout [HTTPField]
    ) throws(HTTPParseError) {
        // Copied out of the globals once: read in the loops, they are a lazy global's
        // accessor call a byte.
        let (token, fieldValue) = (ASCIISet.token, ASCIISet.fieldValue)
        fields.removeAll(keepingCapacity: true)
        fields.reserveCapacity(12)
        var i = index
        let end = bytes.count
        while i < end {
            if bytes[i] == cr {
                guard i + 2 == end, bytes[i + 1] == lf else {
                    throw HTTPParseError("malformed request: bytes after the head's end")
                }
                return
            }
            if bytes[i] == space || bytes[i] == tab {
                throw HTTPParseError("malformed header: a line starts with whitespace (obsolete line folding)")
            }
            let nameStart = i
            while i < end, token.contains(bytes[i]) { i += 1 }
            guard i > nameStart, i < end, bytes[i] == UInt8(ascii: ":") else {
                throw HTTPParseError("malformed header: a field name must be a token followed by ':'")
            }
            let name = nameStart..<i
            i += 1
            while i < end, bytes[i] == space || bytes[i] == tab { i += 1 }
            let valueStart = i
            while i < end, bytes[i] != cr {
                guard fieldValue.contains(bytes[i]) else {
                    throw HTTPParseError("malformed header: the value of \(string(bytes, name)) holds a control byte")
                }
                i += 1
            }
            var valueEnd = i
            while valueEnd > valueStart, bytes[valueEnd - 1] == space || bytes[valueEnd - 1] == tab { valueEnd -= 1 }
            try expectLineEnd(bytes, at: i)
            i += 2
            fields.append(
                HTTPField(name: name, value: valueStart..<valueEnd, kind: HTTPField.kind(of: name, in: bytes)))
        }
        throw HTTPParseError("malformed header: the head does not end with an empty line")
    }

    /// `HTTP/1.x` at `index`: the minor version. Another major version is refused with 505.
    static func version(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) throws(HTTPParseError) -> Int {
        guard index + 8 <= bytes.count, bytes[index] == UInt8(ascii: "H"), bytes[index + 1] == UInt8(ascii: "T"),
            bytes[index + 2] == UInt8(ascii: "T"), bytes[index + 3] == UInt8(ascii: "P"),
            bytes[index + 4] == UInt8(ascii: "/"),
            isDigit(bytes[index + 5]), bytes[index + 6] == UInt8(ascii: "."), isDigit(bytes[index + 7])
        else { throw HTTPParseError("malformed request: the version must be HTTP/1.1 or HTTP/1.0") }
        guard bytes[index + 5] == UInt8(ascii: "1") else {
            throw HTTPParseError(
                "HTTP/\(bytes[index + 5] - 0x30).\(bytes[index + 7] - 0x30) is not supported: use HTTP/1.1",
                status: 505)
        }
        return Int(bytes[index + 7] - 0x30)
    }

    /// Requires CRLF at `index`.
    static func expectLineEnd(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) throws(HTTPParseError) {
        guard index + 1 < bytes.count, bytes[index] == cr, bytes[index + 1] == lf else {
            throw HTTPParseError("malformed request: a line must end in CRLF")
        }
    }

    static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    static func string(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }
}
