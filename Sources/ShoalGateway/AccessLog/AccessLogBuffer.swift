import Metrics
import ShoalCore

/// One event loop's access-log lines not yet written. It writes them when it holds
/// ``flushBytes``, and when told to (every flush interval, and at the end).
final class AccessLogBuffer {
    /// How many bytes of lines wait before they are written.
    static let flushBytes = 32 * 1024

    private let file: AccessLogFile
    /// Where each line's `time` comes from.
    let wallClock: any WallClock
    private var buffer: [UInt8] = []
    private var lines = 0
    /// Lines lost to failed writes: `shoal_gateway_access_log_dropped_lines_total`.
    private let dropped = Counter(label: "shoal_gateway_access_log_dropped_lines_total")

    init(file: AccessLogFile, wallClock: any WallClock) {
        self.file = file
        self.wallClock = wallClock
        buffer.reserveCapacity(Self.flushBytes + 4096)
    }

    func append(_ entry: AccessLogEntry) {
        buffer.appendAccessLogLine(entry)
        lines += 1
        if buffer.count >= Self.flushBytes { flush() }
    }

    /// Writes the lines waiting, if any.
    func flush() {
        guard lines > 0 else { return }
        let written = buffer.withUnsafeBytes { file.append($0) }
        if !written { dropped.increment(by: lines) }
        buffer.removeAll(keepingCapacity: true)
        lines = 0
    }
}
