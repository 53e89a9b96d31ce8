/// The gRPC status codes the gateway gives its own answers on gRPC calls, and reads from
/// instances' answers (the gRPC spec's `doc/statuscodes.md`).
enum GRPCStatus {
    static let ok = 0
    static let deadlineExceeded = 4
    static let resourceExhausted = 8
    static let unimplemented = 12
    static let `internal` = 13
    static let unavailable = 14

    /// The code for an answer of the gateway's own with HTTP status `status`: a call that no
    /// instance could take is `UNAVAILABLE`, one out of time `DEADLINE_EXCEEDED`, one over a
    /// limit `RESOURCE_EXHAUSTED`, one with no route `UNIMPLEMENTED`, and one the gateway
    /// could not read `INTERNAL`, as gRPC maps HTTP statuses.
    static func forGatewayStatus(_ status: Int) -> Int {
        switch status {
        case 502, 503: unavailable
        case 504, 408: deadlineExceeded
        case 413, 429, 431: resourceExhausted
        case 404: unimplemented
        default: `internal`
        }
    }

    /// `message` as a `grpc-message` value: percent-encoded, every byte outside printable
    /// ASCII and `%` itself (gRPC over HTTP/2, "Responses").
    static func encodedMessage(_ message: String) -> String {
        var encoded = ""
        encoded.reserveCapacity(message.utf8.count)
        for byte in message.utf8 {
            if byte >= 0x20 && byte <= 0x7E && byte != UInt8(ascii: "%") {
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                encoded += "%"
                encoded += String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return encoded
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
