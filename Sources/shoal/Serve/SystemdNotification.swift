/// A message to the service manager that started `shoal serve`, as `sd_notify(3)` sends
/// them: newline-separated `KEY=value` assignments in one datagram.
enum SystemdNotification: Equatable {
    /// Serving: both listeners are up (after a start, or after a reload). `status` is what
    /// `systemctl status` shows.
    case ready(status: String)
    /// Reading the certificates and tokens again (SIGHUP), at `monotonicMicroseconds` on
    /// `CLOCK_MONOTONIC`.
    case reloading(monotonicMicroseconds: Int64)
    /// Draining after SIGTERM or SIGINT.
    case stopping

    var datagram: String {
        switch self {
        case .ready(let status): "READY=1\nSTATUS=\(Self.oneLine(status))"
        case .reloading(let microseconds): "RELOADING=1\nMONOTONIC_USEC=\(microseconds)\nSTATUS=reloading"
        case .stopping: "STOPPING=1\nSTATUS=draining"
        }
    }

    /// A value has no newline: one would start another assignment.
    private static func oneLine(_ text: String) -> String {
        String(text.map { $0.isNewline ? " " : $0 })
    }
}
