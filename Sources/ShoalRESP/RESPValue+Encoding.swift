import NIOCore

extension RESPValue {
    /// Writes the value in RESP3 (``null`` as `_`). Decoding the bytes gives the value back.
    public func write(to buffer: inout ByteBuffer) {
        switch self {
        case .simpleString(let bytes):
            buffer.writeInteger(UInt8(ascii: "+"))
            buffer.writeImmutableBuffer(bytes)
            buffer.writeRESPTerminator()
        case .simpleError(let bytes):
            buffer.writeInteger(UInt8(ascii: "-"))
            buffer.writeImmutableBuffer(bytes)
            buffer.writeRESPTerminator()
        case .blobError(let bytes):
            Self.writeBulk(UInt8(ascii: "!"), bytes, to: &buffer)
        case .integer(let value):
            buffer.writeString(":\(value)\r\n")
        case .double(let value):
            let text = value.isNaN ? "nan" : value == .infinity ? "inf" : value == -.infinity ? "-inf" : "\(value)"
            buffer.writeString(",\(text)\r\n")
        case .boolean(let value):
            buffer.writeString(value ? "#t\r\n" : "#f\r\n")
        case .null:
            buffer.writeString("_\r\n")
        case .bigNumber(let digits):
            buffer.writeInteger(UInt8(ascii: "("))
            buffer.writeImmutableBuffer(digits)
            buffer.writeRESPTerminator()
        case .bulkString(let bytes):
            Self.writeBulk(UInt8(ascii: "$"), bytes, to: &buffer)
        case .verbatimString(let format, let bytes):
            let valid = format.utf8.count == 3 && format.utf8.allSatisfy { (0x21...0x7E).contains($0) }
            var payload = ByteBuffer(string: "\(valid ? format : "txt"):")
            payload.writeImmutableBuffer(bytes)
            Self.writeBulk(UInt8(ascii: "="), payload, to: &buffer)
        case .array(let elements):
            Self.writeAggregate(UInt8(ascii: "*"), elements, to: &buffer)
        case .set(let elements):
            Self.writeAggregate(UInt8(ascii: "~"), elements, to: &buffer)
        case .push(let elements):
            Self.writeAggregate(UInt8(ascii: ">"), elements, to: &buffer)
        case .map(let entries):
            Self.writeEntries(UInt8(ascii: "%"), entries, to: &buffer)
        case .attributed(let attributes, let value):
            Self.writeEntries(UInt8(ascii: "|"), attributes, to: &buffer)
            value.write(to: &buffer)
        }
    }

    private static func writeBulk(_ type: UInt8, _ bytes: ByteBuffer, to buffer: inout ByteBuffer) {
        buffer.writeRESPHeader(type, bytes.readableBytes)
        buffer.writeImmutableBuffer(bytes)
        buffer.writeRESPTerminator()
    }

    private static func writeAggregate(_ type: UInt8, _ elements: [RESPValue], to buffer: inout ByteBuffer) {
        buffer.writeRESPHeader(type, elements.count)
        for element in elements { element.write(to: &buffer) }
    }

    private static func writeEntries(_ type: UInt8, _ entries: [RESPMapEntry], to buffer: inout ByteBuffer) {
        buffer.writeRESPHeader(type, entries.count)
        for entry in entries {
            entry.key.write(to: &buffer)
            entry.value.write(to: &buffer)
        }
    }
}
