#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Unbuffered writes to standard error.
enum StandardError {
    static func write(_ text: String) {
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = systemWrite(2, bytes.baseAddress! + offset, bytes.count - offset)
                if written <= 0 { return }
                offset += written
            }
        }
    }

    /// Whether standard error is a terminal (progress bars are drawn only then).
    static var isTerminal: Bool { isatty(2) == 1 }
}

/// Buffered writes of bytes to standard output.
struct StandardOutput {
    private var buffer: [UInt8] = []
    private let flushThreshold = 1 << 16

    init() {
        buffer.reserveCapacity(flushThreshold + 4096)
    }

    mutating func append(_ bytes: some Sequence<UInt8>) throws(RuntimeFailure) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= flushThreshold {
            try flush()
        }
    }

    mutating func append(_ text: String) throws(RuntimeFailure) {
        try append(text.utf8)
    }

    mutating func flush() throws(RuntimeFailure) {
        var failed = false
        buffer.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = systemWrite(1, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 && errno == EINTR { continue }
                if written <= 0 {
                    failed = true
                    return
                }
                offset += written
            }
        }
        buffer.removeAll(keepingCapacity: true)
        if failed {
            throw RuntimeFailure("cannot write to standard output: \(String(cString: strerror(errno)))")
        }
    }
}

/// `write(2)`, named apart from the methods above.
@inline(__always)
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buffer, count)
}
