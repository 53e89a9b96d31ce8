import NIOCore

extension RequestHead {
    /// Whether `bytes`, the start of what a client sent for its next request, already hold a
    /// byte that no request line could hold where it stands: the gateway answers 400 at once,
    /// rather than wait for the header timeout (a TLS `ClientHello` on the plain port, say).
    ///
    /// A request line is `METHOD SP TARGET SP HTTP/1.x`, after any empty lines (RFC 9112 §2.2):
    /// the method is token bytes, the target visible ASCII, and the version starts `HTTP/`.
    ///
    /// Only the first ``startBytes`` are looked at, so a head that arrives a byte at a time
    /// costs no more than a scan of those each read.
    static func cannotStart(_ bytes: ByteBufferView) -> Bool {
        let version = versionStart
        var part = 0  // 0 before the method, 1 in it, 2 in the target, 3 in the version
        var versionIndex = 0
        for byte in bytes.prefix(startBytes) {
            switch part {
            case 0 where byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\n"):
                continue
            case 0, 1:
                if byte == UInt8(ascii: " ") && part == 1 {
                    part = 2
                } else if ASCIISet.token.contains(byte) {
                    part = 1
                } else {
                    return true
                }
            case 2:
                if byte == UInt8(ascii: " ") {
                    part = 3
                } else if !ASCIISet.visible.contains(byte) {
                    return true
                }
            default:
                guard versionIndex < version.count else { return false }
                if byte != version[versionIndex] { return true }
                versionIndex += 1
            }
        }
        return false
    }

    /// How much of an unfinished head ``cannotStart(_:)`` reads.
    static let startBytes = 256
    /// The bytes every request line's version starts with; made once, as the check runs on
    /// every read that ends before a head does (an empty one, after each keep-alive request).
    private static let versionStart = Array("HTTP/".utf8)
}
