import NIOCore

/// Field lines of a head that go on as they came, gathered so that lines next to each other
/// are copied with one write: a head's field lines follow each other, each ending in CRLF,
/// so kept fields with no dropped one between them are one range of its bytes.
///
/// Each write into a `ByteBuffer` checks uniqueness, capacity and exclusive access; a head
/// written line by line paid that twice a field.
struct FieldRun {
    private var start = 0
    private var end = 0

    /// Adds `field`, which comes after every field added since the last ``write(from:to:)``,
    /// with no dropped field between.
    mutating func keep(_ field: HTTPField) {
        if start == end { start = field.name.lowerBound }
        end = field.value.upperBound
    }

    /// Writes the lines kept since the last call, as they came (with any whitespace after the
    /// last value, and the CRLF), and starts a new run. Called before a dropped field, and
    /// before anything else is written.
    mutating func write(from bytes: [UInt8], to buffer: inout ByteBuffer) {
        guard start < end else { return }
        // Only whitespace can follow a value on its line (the parser checked), then CRLF.
        var lineEnd = end
        while lineEnd < bytes.count, bytes[lineEnd] != HTTPHeadParser.cr { lineEnd += 1 }
        if lineEnd + 1 < bytes.count {
            buffer.writeBytes(bytes[start..<lineEnd + 2])
        } else {
            buffer.writeBytes(bytes[start..<end])
            buffer.writeStaticString("\r\n")
        }
        (start, end) = (0, 0)
    }
}
