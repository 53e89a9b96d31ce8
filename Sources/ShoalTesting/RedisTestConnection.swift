import Foundation
import NIOCore
import ShoalRESP

#if canImport(Glibc)
    import Glibc
#endif

/// A blocking, one-command-at-a-time Redis connection for test set-up and audits. Not the
/// client under test: it is as simple as possible on purpose.
public struct RedisTestConnection: ~Copyable {
    private let socket: Int32

    /// Connects to `host`:`port` (an IPv4 address); reads and writes time out after
    /// `timeout` seconds.
    public init(host: String = "127.0.0.1", port: Int, timeout: TimeInterval) throws {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw RedisServerError("cannot open a socket: errno \(errno)") }
        var limit = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1e6))
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(socket, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr(host)
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard connected else {
            let code = errno
            close(socket)
            throw RedisServerError("cannot connect to \(host):\(port): errno \(code)")
        }
        self.socket = socket
    }

    deinit {
        close(socket)
    }

    /// Sends a command and waits for its reply.
    public func command(_ arguments: [String]) throws -> RESPValue {
        var out = ByteBuffer()
        out.writeRESPCommand(RESPCommand(arguments))
        let sent = out.withUnsafeReadableBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == out.readableBytes else { throw RedisServerError("cannot send to Redis: errno \(errno)") }
        var received = ByteBuffer()
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        let decoder = RESPDecoder()
        while true {
            if let reply = try decoder.decode(from: &received) { return reply }
            let count = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            guard count > 0 else {
                throw RedisServerError(
                    count == 0 ? "Redis closed the connection" : "no reply from Redis (errno \(errno))")
            }
            received.writeBytes(chunk[0..<count])
        }
    }
}
