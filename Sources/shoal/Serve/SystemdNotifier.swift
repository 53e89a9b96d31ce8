import ShoalCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Sends ``SystemdNotification``s to the socket that systemd names in `NOTIFY_SOCKET` when a
/// unit has `Type=notify`; does nothing when it names none. As `sd_notify(3)`: a datagram on
/// an `AF_UNIX` socket, its path either a file (`/run/systemd/notify`) or, beginning with
/// `@`, in the abstract namespace.
final class SystemdNotifier: Sendable {
    /// The socket's address, as `NOTIFY_SOCKET` gives it; `nil` when not started by systemd
    /// with `Type=notify`.
    let socket: String?
    /// Why `NOTIFY_SOCKET` is ignored, if it is.
    let problem: String?
    /// The status of the last readiness, told again after a reload; `nil` until ready, when
    /// a reload (SIGHUP during the start) tells nothing, lest it say READY=1 too soon.
    private let status = Mutex<String?>(nil)

    /// The longest path in `sockaddr_un`, without the final NUL.
    static let maximumPathLength = 107

    /// Reads `NOTIFY_SOCKET` from `environment`. An address that is neither a path nor
    /// abstract, or too long for a socket address, is a ``problem`` and notifies nothing.
    init(environment: [String: String]) {
        let socket = environment["NOTIFY_SOCKET"] ?? ""
        if socket.isEmpty {
            (self.socket, problem) = (nil, nil)
        } else if !(socket.hasPrefix("/") || socket.hasPrefix("@")) || socket.utf8.count > Self.maximumPathLength {
            (self.socket, problem) = (
                nil, "NOTIFY_SOCKET '\(socket)' is not a socket path (absolute or @abstract, up to 107 bytes)"
            )
        } else {
            (self.socket, problem) = (socket, nil)
        }
    }

    /// Tells the manager `shoal serve` is ready, with `status` for `systemctl status`.
    func ready(status text: String) {
        status.withLock { $0 = text }
        tell(.ready(status: text))
    }

    /// Tells the manager a reload (SIGHUP) begins, at `now` on the system's monotonic clock.
    func reloading(at now: MonotonicInstant) {
        guard status.withLock({ $0 }) != nil else { return }
        tell(.reloading(monotonicMicroseconds: now.nanoseconds / 1000))
    }

    /// Tells the manager the reload is done: ready again, as before it.
    func reloaded() {
        guard let text = status.withLock({ $0 }) else { return }
        tell(.ready(status: text))
    }

    /// Tells the manager `shoal serve` is draining.
    func stopping() { tell(.stopping) }

    private func tell(_ notification: SystemdNotification) {
        guard let socket, let error = Self.send(notification.datagram, to: socket) else { return }
        StandardError.write(
            "shoal: cannot tell systemd (NOTIFY_SOCKET \(socket)): \(String(cString: strerror(error))); it waits for readiness until its start timeout\n"
        )
    }

    /// Sends `datagram` to the socket at `path`: the error number if it could not.
    static func send(_ datagram: String, to path: String) -> Int32? {
        let descriptor = Glibc.socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return errno }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }  // abstract: a leading NUL, no final one
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + bytes.count)
        let message = Array(datagram.utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                message.withUnsafeBytes {
                    sendto(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), address, length)
                }
            }
        }
        return sent == message.count ? nil : errno
    }
}
