import NIOCore

extension GatewayErrorResponse {
    /// The answer as a gRPC call expects an error: HTTP 200 with `grpc-status` and
    /// `grpc-message` in the header block and no body (a "trailers-only" response), which an
    /// HTTP/2 client reads as the call's status.
    func grpcBytes(requestID: String?, close: Bool) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeString("HTTP/1.1 200 OK\r\ncontent-type: application/grpc\r\n")
        buffer.writeString("grpc-status: \(grpcStatus)\r\n")
        buffer.writeString("grpc-message: \(GRPCStatus.encodedMessage(message))\r\n")
        buffer.writeString("content-length: 0\r\n")
        if let requestID { buffer.writeString("x-request-id: \(requestID)\r\n") }
        if close { buffer.writeString("connection: close\r\n") }
        buffer.writeString("\r\n")
        return buffer
    }

    /// The gRPC status this answer stands for.
    var grpcStatus: Int { GRPCStatus.forGatewayStatus(Int(status.code)) }
}
