/// One HTTP/2 receive window (a stream's, or the connection's) as its receiver keeps it when
/// no multiplexer does: the bytes the peer sent that were used and not yet given back, and
/// when to give them back with a `WINDOW_UPDATE` (RFC 9113 §6.9).
///
/// Credit goes back in one update once half the window was used, as swift-nio-http2's own
/// stream channels do: a small answer that ends first costs no update at all. A value with
/// no I/O; the connection writes the frames it says.
struct HTTP2ReceiveWindow {
    /// The window's size, as the receiver advertised it.
    let size: Int
    /// Bytes used since the last update.
    private(set) var owed = 0

    init(size: Int) {
        self.size = size
    }

    /// Notes `bytes` used (a `DATA` frame's flow-controlled length: its data, its padding and
    /// the padding's length byte). Returns the increment to send now, or `nil` to wait.
    mutating func used(_ bytes: Int) -> Int? {
        owed += bytes
        guard owed >= size / 2, owed > 0 else { return nil }
        defer { owed = 0 }
        return owed
    }

    /// The flow-controlled length of a `DATA` frame with `bytes` of data and `padding`.
    static func flowControlledLength(bytes: Int, padding: Int?) -> Int {
        bytes + (padding.map { $0 + 1 } ?? 0)
    }
}
