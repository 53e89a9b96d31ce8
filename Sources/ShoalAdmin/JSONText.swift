import NIOCore

/// JSON written by hand, byte for byte as ``JSON/encode(_:)-(Encodable)`` writes it, for the
/// bodies on the registry's hot paths: `JSONEncoder` spent about 5 µs on each instance, which
/// every registration, change event and snapshot pays.
enum JSONText {
    /// A JSON string: quoted; quotes, backslashes and control characters escaped as
    /// `JSONEncoder` escapes them (`\n`, `\r`, `\t`, `\b`, `\f`, else `\u00XX`); slashes and
    /// everything else as is.
    static func appendString(_ text: String, to buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "\""))
        if !text.utf8.contains(where: needsEscape) {
            buffer.writeString(text)
        } else {
            for byte in text.utf8 {
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): buffer.writeBytes([UInt8(ascii: "\\"), byte])
                case 0x0A: buffer.writeStaticString(#"\n"#)
                case 0x0D: buffer.writeStaticString(#"\r"#)
                case 0x09: buffer.writeStaticString(#"\t"#)
                case 0x08: buffer.writeStaticString(#"\b"#)
                case 0x0C: buffer.writeStaticString(#"\f"#)
                case 0..<0x20:
                    buffer.writeStaticString(#"\u00"#)
                    buffer.writeBytes([hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0x0F)]])
                default: buffer.writeInteger(byte)
                }
            }
        }
        buffer.writeInteger(UInt8(ascii: "\""))
    }

    /// A number as `JSONEncoder` writes a `Double`: its shortest form, without a trailing
    /// `.0` (`1`, `0.5`, `1e-05`, `1e+16`).
    static func appendNumber(_ value: Double, to buffer: inout ByteBuffer) {
        let text = value.description
        buffer.writeSubstring(text.hasSuffix(".0") ? text.dropLast(2) : Substring(text))
    }

    /// An integer.
    static func appendNumber(_ value: some BinaryInteger, to buffer: inout ByteBuffer) {
        buffer.writeString(String(value))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
    }
}
