#if canImport(Glibc)
    import Glibc
#endif

/// A blocking TCP connection to a port on loopback (or a lab host), for sending bytes no HTTP client would
/// (malformed or smuggling requests, a head sent slowly) and reading raw answers. For tests.
public final class RawConnection {
    private let socket: Int32
    /// Bytes read past the end of the last response ``readResponse(keep:)`` returned (the
    /// next one, when the peer answers pipelined requests): the next read starts with them.
    private var leftover: [UInt8] = []

    /// Connects to `host:port` (an IPv4 address); reads wait at most `timeout` seconds.
    public init(host: String = "127.0.0.1", port: Int, timeout: Double = 10) throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw RedisServerError("socket() failed: errno \(errno)") }
        var wait = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1_000_000))
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr(host)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            // Not closed here: every stored property is set, so throwing runs deinit, which
            // closes it. Closing twice closed whatever descriptor the number went to in
            // between (in parallel tests, a NIO socket, which then crashed on EBADF).
            throw RedisServerError("cannot connect to \(host):\(port): errno \(errno)")
        }
    }

    deinit { if socket >= 0 { close(socket) } }

    /// Sends all of `bytes`; `false` if the peer closed first.
    @discardableResult
    public func send(_ bytes: some Collection<UInt8>) -> Bool {
        let data = Array(bytes)
        var sent = 0
        while sent < data.count {
            let n = data[sent...].withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { return false }
            sent += n
        }
        return true
    }

    /// Sends `text` as UTF-8.
    @discardableResult
    public func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    /// Reads what arrives until the peer closes or `limit` bytes came or a read times out.
    public func receive(limit: Int = 1 << 20) -> [UInt8] {
        var received = takeLeftover()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while received.count < limit {
            let n = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { break }
            received += buffer[..<n]
        }
        return received
    }

    /// How a read that waits for the peer to close ended.
    public enum ReadEnd: Sendable, Equatable {
        /// The peer closed (or reset) the connection.
        case closed
        /// No byte came within the connection's read timeout: the peer holds it open.
        case timedOut
        /// `limit` bytes came before either.
        case limit
    }

    /// Reads what arrives until the peer closes, `limit` bytes came, or a read times out, and
    /// says which: unlike ``receive(limit:)``, a connection held open is told apart from one
    /// the peer closed.
    public func receiveUntilClosed(limit: Int = 1 << 20) -> (bytes: [UInt8], end: ReadEnd) {
        var received = takeLeftover()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while received.count < limit {
            let n = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                received += buffer[..<n]
                continue
            }
            if n == 0 || errno == ECONNRESET { return (received, .closed) }
            if errno == EINTR { continue }
            return (received, .timedOut)
        }
        return (received, .limit)
    }

    /// Reads until what arrived ends with `suffix`, the peer closes, or a read times out.
    public func receive(endingWith suffix: String) -> String {
        let marker = Array(suffix.utf8)
        var received = takeLeftover()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !received.suffix(marker.count).elementsEqual(marker) {
            let n = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { break }
            received += buffer[..<n]
        }
        return String(decoding: received, as: UTF8.self)
    }

    /// Reads one response: its head, then a body of its Content-Length (counted, not kept
    /// beyond `keep` bytes). `nil` if the connection closed or timed out first.
    public func readResponse(keep: Int = 1 << 16) -> (status: Int, head: String, bodyBytes: Int, body: [UInt8])? {
        var pending = takeLeftover()
        var buffer = [UInt8](repeating: 0, count: 65536)
        func fill() -> Bool {
            let n = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { return false }
            pending += buffer[..<n]
            return true
        }
        var headEnd: Int?
        while headEnd == nil {
            headEnd = pending.indices.dropLast(3).first {
                pending[$0] == 13 && pending[$0 + 1] == 10 && pending[$0 + 2] == 13 && pending[$0 + 3] == 10
            }
            if headEnd == nil && !fill() { return nil }
        }
        let head = String(decoding: pending[..<headEnd!], as: UTF8.self)
        var rest = Array(pending[(headEnd! + 4)...])
        let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
        let declared = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
            .flatMap { Int($0.split(separator: ":")[1].trimmingPrefix(" ")) }
        let length = declared ?? 0
        // Past a declared length, the bytes are the next response's. (Without one, all that
        // came is returned as the body, as before.)
        if let declared, rest.count > declared {
            leftover = Array(rest[declared...])
            rest.removeSubrange(declared...)
        }
        var total = rest.count
        var body = Array(rest.prefix(keep))
        rest = []
        while total < length {
            let n = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, min($0.count, length - total), 0) }
            guard n > 0 else { return nil }
            total += n
            if body.count < keep { body += buffer[..<min(n, keep - body.count)] }
        }
        return (status, head, total, body)
    }

    private func takeLeftover() -> [UInt8] {
        defer { leftover = [] }
        return leftover
    }
}
