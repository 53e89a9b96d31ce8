import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The access log's file descriptor, written by ``AccessLogWriter``'s thread. Each write is of
/// whole lines and holds the lock; a reopen swaps the descriptor under the same lock, between
/// two writes.
final class AccessLogFile: Sendable {
    /// The file's path; `nil` for standard output.
    let path: String?
    private let descriptor: Mutex<Int32>

    /// Opens `destination`: the file is created if missing, and appended to.
    init(_ destination: GatewayConfiguration.AccessLog.Destination) throws(GatewayAccessLogError) {
        switch destination {
        case .standardOutput:
            path = nil
            descriptor = Mutex(STDOUT_FILENO)
        case .file(let path):
            self.path = path
            descriptor = Mutex(try Self.openForAppending(path))
        }
    }

    deinit {
        if path != nil { close(descriptor.withLock { $0 }) }
    }

    private static func openForAppending(_ path: String) throws(GatewayAccessLogError) -> Int32 {
        let opened = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard opened >= 0 else { throw GatewayAccessLogError(path: path, reason: String(cString: strerror(errno))) }
        return opened
    }

    /// Opens the path again and writes there from now on (after a rotation moved the file
    /// away); the old descriptor is closed. Standard output stays as it is.
    ///
    /// - Throws: ``GatewayAccessLogError`` when the path cannot be opened; the log then goes
    ///   on where it went.
    func reopen() throws(GatewayAccessLogError) {
        guard let path else { return }
        let fresh = try Self.openForAppending(path)
        let old = descriptor.withLock { descriptor in
            defer { descriptor = fresh }
            return descriptor
        }
        close(old)
    }

    /// Writes all of `bytes`; `false` when the system refused (a full disk, a closed pipe).
    func append(_ bytes: UnsafeRawBufferPointer) -> Bool {
        descriptor.withLock { descriptor in
            var offset = 0
            while offset < bytes.count {
                let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
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
