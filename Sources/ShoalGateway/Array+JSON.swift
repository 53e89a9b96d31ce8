extension [UInt8] {
    /// Appends `string` as a JSON string, quoted and escaped (RFC 8259 §7).
    mutating func appendJSONString(_ string: String) {
        var string = string
        string.withUTF8 { appendJSONString(bytes: $0, validUTF8: true) }
    }

    /// Appends bytes from the network as a JSON string. Valid UTF-8 is kept as it is; in bytes
    /// that are not, each byte above 0x7F is read as Latin-1 (what HTTP's obs-text was), so
    /// the result is valid JSON and no byte is lost.
    mutating func appendJSONString(bytes: ArraySlice<UInt8>) {
        let valid = !bytes.contains { $0 > 0x7F } || String(validating: bytes, as: UTF8.self) != nil
        bytes.withUnsafeBufferPointer { appendJSONString(bytes: $0, validUTF8: valid) }
    }

    private mutating func appendJSONString(bytes: UnsafeBufferPointer<UInt8>, validUTF8: Bool) {
        append(UInt8(ascii: "\""))
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                append(UInt8(ascii: "\\"))
                append(byte)
            case UInt8(ascii: "\n"): append(contentsOf: "\\n".utf8)
            case UInt8(ascii: "\r"): append(contentsOf: "\\r".utf8)
            case UInt8(ascii: "\t"): append(contentsOf: "\\t".utf8)
            default:
                if byte < 0x20 || (byte > 0x7F && !validUTF8) {
                    append(contentsOf: "\\u00".utf8)
                    append(Self.hexDigit(byte >> 4))
                    append(Self.hexDigit(byte & 0xF))
                } else {
                    append(byte)
                }
            }
        }
        append(UInt8(ascii: "\""))
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }

    /// Appends a non-negative `value` in decimal, with leading zeros to at least `count`
    /// digits (a negative value is written as 0).
    mutating func appendDecimal(_ value: Int64, digits count: Int = 1) {
        let value = UInt64(Swift.max(0, value))
        var digits = 1
        var scale: UInt64 = 1
        while digits < 19, value / scale >= 10 {
            scale *= 10
            digits += 1
        }
        for _ in digits..<Swift.max(digits, count) { append(UInt8(ascii: "0")) }
        var rest = value
        while scale > 0 {
            append(UInt8(ascii: "0") + UInt8(rest / scale))
            rest %= scale
            scale /= 10
        }
    }
}
