/// What request and response heads share: their bytes, and their fields as ranges of them.
protocol HTTPHead {
    /// The head, from its start line to the blank line that ends it.
    var bytes: [UInt8] { get }
    var fields: [HTTPField] { get }
}

extension HTTPHead {
    /// The bytes of `range` as a string (UTF-8, with invalid bytes replaced).
    func string(_ range: Range<Int>) -> String {
        String(decoding: bytes[range], as: UTF8.self)
    }

    /// The value of the first field named `name` (lowercase), if any.
    func value(named name: String) -> String? {
        let wanted = [Array(name.utf8)]
        return fields.first { field($0, isNamedIn: wanted) }.map { string($0.value) }
    }

    /// Calls `body` with each comma-separated element of every field of `kind`, as the range
    /// of its bytes without the whitespace around it; empty elements too (RFC 9110 §5.6.1).
    func forEachElement<E: Error>(of kind: HTTPField.Kind, _ body: (Range<Int>) throws(E) -> Void) throws(E) {
        for field in fields where field.kind == kind {
            var start = field.value.lowerBound
            repeat {
                var end = start
                while end < field.value.upperBound, bytes[end] != UInt8(ascii: ",") { end += 1 }
                var (low, high) = (start, end)
                while low < high, bytes[low] == 0x20 || bytes[low] == 0x09 { low += 1 }
                while high > low, bytes[high - 1] == 0x20 || bytes[high - 1] == 0x09 { high -= 1 }
                try body(low..<high)
                start = end + 1
            } while start <= field.value.upperBound
        }
    }

    /// The non-empty comma-separated elements of every field of `kind`, lowercased (as for
    /// `Transfer-Encoding`).
    func lowercasedElements(of kind: HTTPField.Kind) -> [String] {
        var elements: [String] = []
        forEachElement(of: kind) { element in
            if !element.isEmpty {
                elements.append(String(decoding: bytes[element].map(\.asciiLowercased), as: UTF8.self))
            }
        }
        return elements
    }

    /// The `Content-Length` fields' value: `nil` with none, or an error when they are not one
    /// number (repeats of the same number are one, RFC 9112 §6.3).
    func contentLength() throws(HTTPParseError) -> Int? {
        var length: Int?
        try forEachElement(of: .contentLength) { element throws(HTTPParseError) in
            let digits = bytes[element]
            guard !digits.isEmpty, digits.count <= 18, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                throw HTTPParseError("Content-Length must be one number")
            }
            let value = digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
            guard length == nil || length == value else { throw HTTPParseError("Content-Length must be one number") }
            length = value
        }
        return length
    }

    /// What the `Connection` fields say (RFC 9110 §7.6.1), read without allocating unless
    /// they name other fields.
    func connectionOptions() -> ConnectionOptions {
        var options = ConnectionOptions()
        forEachElement(of: .connection) { element in
            let token = bytes[element]
            if token.elementsEqual("close".utf8, by: { $0.asciiLowercased == $1 }) {
                options.close = true
            } else if token.elementsEqual("keep-alive".utf8, by: { $0.asciiLowercased == $1 }) {
                options.keepAlive = true
            } else if !token.isEmpty {
                options.names.append(token.map(\.asciiLowercased))
            }
        }
        return options
    }

    /// Whether `field`'s name is one of `names` (lowercase), compared without case.
    func field(_ field: HTTPField, isNamedIn names: [[UInt8]]) -> Bool {
        names.contains { name in
            name.count == field.name.count && zip(bytes[field.name], name).allSatisfy { $0.asciiLowercased == $1 }
        }
    }
}

extension UInt8 {
    /// The byte, with an ASCII capital letter made small.
    var asciiLowercased: UInt8 { self >= 0x41 && self <= 0x5A ? self | 0x20 : self }
}

/// What a head's `Connection` fields say.
struct ConnectionOptions {
    var close = false
    var keepAlive = false
    /// The field names they list (lowercase): hop-by-hop too, not forwarded.
    var names: [[UInt8]] = []
}

/// A head's bytes and fields before the rest of the head is worked out from them.
struct HTTPFieldList: HTTPHead {
    let bytes: [UInt8]
    let fields: [HTTPField]
}
