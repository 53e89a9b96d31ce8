import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The access log's file descriptor, shared by the event loops. Each write is of whole lines
/// and holds a lock, so lines from two loops never mix, even in a pipe.
final class AccessLogFile: Sendable {
    private let descriptor: Int32
    private let owned: Bool
    private let writing = Mutex<Void>(())

    /// Opens `destination`: the file is created if missing, and appended to.
    init(_ destination: GatewayConfiguration.AccessLog.Destination) throws(GatewayAccessLogError) {
        switch destination {
        case .standardOutput:
            descriptor = STDOUT_FILENO
            owned = false
        case .file(let path):
            let opened = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
            guard opened >= 0 else {
                throw GatewayAccessLogError(path: path, reason: String(cString: strerror(errno)))
            }
            descriptor = opened
            owned = true
        }
    }

    deinit {
        if owned { close(descriptor) }
    }

    /// Writes all of `bytes`; `false` when the system refused (a full disk, a closed pipe).
    func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        writing.withLock { _ in
            var offset = 0
            while offset < bytes.count {
                #if canImport(Glibc)
                    let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                #elseif canImport(Musl)
                    let written = Musl.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                #else
                    let written = Darwin.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                #endif
                if written < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += written
            }
            return true
        }
    }
}
