import NIOCore

/// A command to send: its name and arguments, each any bytes.
///
/// ```swift
/// var out = ByteBuffer()
/// out.writeRESPCommand(RESPCommand("SET", "user:42", "alice", "PX", "10000"))
/// // *5\r\n$3\r\nSET\r\n$7\r\nuser:42\r\n …
/// ```
public struct RESPCommand: Sendable, Hashable {
    /// The command name first, then its arguments.
    public var arguments: [ByteBuffer]

    /// A command from byte arguments.
    public init(arguments: [ByteBuffer]) {
        self.arguments = arguments
    }

    /// A command from strings, each sent as its UTF-8 bytes.
    public init(_ arguments: String...) {
        self.arguments = arguments.map { ByteBuffer(string: $0) }
    }

    /// A command from strings, each sent as its UTF-8 bytes.
    public init(_ arguments: [String]) {
        self.arguments = arguments.map { ByteBuffer(string: $0) }
    }
}

extension ByteBuffer {
    /// Writes `command` as a RESP array of bulk strings, the form servers accept.
    public mutating func writeRESPCommand(_ command: RESPCommand) {
        writeRESPHeader(UInt8(ascii: "*"), command.arguments.count)
        for argument in command.arguments {
            writeRESPHeader(UInt8(ascii: "$"), argument.readableBytes)
            writeImmutableBuffer(argument)
            writeRESPTerminator()
        }
    }

    /// Writes a type byte, a decimal number and CRLF, without making a `String`.
    mutating func writeRESPHeader(_ type: UInt8, _ number: Int) {
        writeInteger(type)
        if number < 0 {
            writeInteger(UInt8(ascii: "-"))
        }
        var magnitude = number.magnitude
        var digits:
            (
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8
            ) =
                (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { digits in
            repeat {
                digits[19 - count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            writeBytes(UnsafeRawBufferPointer(rebasing: digits[(20 - count)...]))
        }
        writeRESPTerminator()
    }

    mutating func writeRESPTerminator() {
        writeInteger(UInt16(0x0D0A), endianness: .big)
    }
}
