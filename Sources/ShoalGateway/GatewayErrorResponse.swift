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

    /// The response's JSON body.
    func body(requestID: String?) -> ByteBuffer {
        var body = Array(#"{"error":"#.utf8)
        body.appendJSONString(message)
        body.append(contentsOf: #","request_id":"#.utf8)
        if let requestID { body.appendJSONString(requestID) } else { body.append(contentsOf: "null".utf8) }
        body.append(contentsOf: #","status":\#(status.code)}"#.utf8)
        return ByteBuffer(bytes: body)
    }

    /// The whole response, with `body` (from ``body(requestID:)``); `close` adds
    /// `Connection: close`.
    func bytes(body: ByteBuffer, requestID: String?, close: Bool) -> ByteBuffer {
        var body = body
        var buffer = ByteBuffer()
        buffer.writeString("HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\n")
        buffer.writeString("content-type: application/json\r\ncontent-length: \(body.readableBytes)\r\n")
        if let requestID { buffer.writeString("x-request-id: \(requestID)\r\n") }
        if close { buffer.writeString("connection: close\r\n") }
        buffer.writeString("\r\n")
        buffer.writeBuffer(&body)
        return buffer
    }
}
