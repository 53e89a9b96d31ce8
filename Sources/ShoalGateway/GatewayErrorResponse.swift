import NIOCore
import NIOHTTP1

/// An error the gateway answers itself, as JSON with the request id:
/// `{"error":"…","request_id":"…","status":502}`.
struct GatewayErrorResponse {
    let status: HTTPResponseStatus
    let message: String

    static func noRoute(_ path: String) -> Self {
        Self(status: .notFound, message: "no route for \(path)")
    }
    static func noInstance(_ service: String) -> Self {
        Self(status: .serviceUnavailable, message: "no instance of \(service) can take the request")
    }
    static func upstreamFailed(_ service: String, _ detail: String) -> Self {
        Self(status: .badGateway, message: "\(service) failed: \(detail)")
    }
    static func timedOut(_ service: String) -> Self {
        Self(status: .gatewayTimeout, message: "\(service) did not answer in time")
    }
    static func refused(_ error: HTTPParseError) -> Self {
        Self(status: HTTPResponseStatus(statusCode: error.status), message: error.message)
    }

    /// The whole response as bytes; `close` adds `Connection: close`.
    func bytes(requestID: String?, close: Bool) -> ByteBuffer {
        var body = ByteBuffer()
        body.writeString(#"{"error":"#)
        Self.writeJSONString(message, to: &body)
        body.writeString(#","request_id":"#)
        if let requestID { Self.writeJSONString(requestID, to: &body) } else { body.writeString("null") }
        body.writeString(#","status":\#(status.code)}"#)
        var buffer = ByteBuffer()
        buffer.writeString("HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\n")
        buffer.writeString("content-type: application/json\r\ncontent-length: \(body.readableBytes)\r\n")
        if let requestID { buffer.writeString("x-request-id: \(requestID)\r\n") }
        if close { buffer.writeString("connection: close\r\n") }
        buffer.writeString("\r\n")
        buffer.writeBuffer(&body)
        return buffer
    }

    private static func writeJSONString(_ string: String, to buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "\""))
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": buffer.writeString("\\\"")
            case "\\": buffer.writeString("\\\\")
            case "\n": buffer.writeString("\\n")
            case "\r": buffer.writeString("\\r")
            case "\t": buffer.writeString("\\t")
            case _ where scalar.value < 0x20:
                buffer.writeString("\\u00" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16))
            default: buffer.writeString(String(scalar))
            }
        }
        buffer.writeInteger(UInt8(ascii: "\""))
    }
}
