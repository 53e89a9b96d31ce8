import ShoalCore

/// One event loop's access-log lines not yet handed to the writer. It hands them over when it
/// holds ``flushBytes``, and when told to (every flush interval, and at the end).
final class AccessLogBuffer {
    /// How many bytes of lines wait before they are written.
    static let flushBytes = 32 * 1024

    private let writer: AccessLogWriter
    /// Where each line's `time` comes from.
    let wallClock: any WallClock
    private var buffer: [UInt8] = []
    private var lines = 0

    init(writer: AccessLogWriter, wallClock: any WallClock) {
        self.writer = writer
        self.wallClock = wallClock
        buffer.reserveCapacity(Self.flushBytes + 4096)
    }

    func append(_ entry: AccessLogEntry) {
        buffer.appendAccessLogLine(entry)
        lines += 1
        if buffer.count >= Self.flushBytes { flush() }
    }

    /// Hands the lines waiting, if any, to the writer.
    func flush() {
        guard lines > 0 else { return }
        writer.write(buffer, lines: lines)
        // The writer holds the old storage: this makes a new one of the same size.
        buffer.removeAll(keepingCapacity: true)
        lines = 0
    }
}
