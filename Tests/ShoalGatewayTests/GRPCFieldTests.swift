import NIOCore
import Testing

@testable import ShoalGateway

@Suite("gRPC's fields: grpc-timeout, grpc-message, and the gateway's own statuses")
struct GRPCFieldTests {
    @Test(
        "grpc-timeout values in each unit; anything else is no timeout",
        arguments: [
            ("1H", TimeAmount.hours(1)), ("2M", .minutes(2)), ("3S", .seconds(3)), ("250m", .milliseconds(250)),
            ("99999999u", .microseconds(99_999_999)), ("7n", .nanoseconds(7)),
        ])
    func timeouts(text: String, amount: TimeAmount) {
        #expect(GRPCTimeout.parse(text) == amount)
    }

    @Test("malformed grpc-timeout values are ignored", arguments: ["", "S", "10", "123456789S", "1s", "-1S", "1 S"])
    func badTimeouts(text: String) {
        #expect(GRPCTimeout.parse(text) == nil)
    }

    @Test("grpc-message is percent-encoded outside printable ASCII, and % itself")
    func message() {
        #expect(GRPCStatus.encodedMessage("no instance: 100% down") == "no instance: 100%25 down")
        #expect(GRPCStatus.encodedMessage("a\r\nb é") == "a%0D%0Ab %C3%A9")
    }

    @Test("the gateway's errors map to UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED and UNIMPLEMENTED")
    func statuses() {
        #expect(GatewayErrorResponse.noInstance("s").grpcStatus == 14)
        #expect(GatewayErrorResponse.upstreamFailed("s", "x").grpcStatus == 14)
        #expect(GatewayErrorResponse.timedOut("s").grpcStatus == 4)
        #expect(GatewayErrorResponse(status: .payloadTooLarge, message: "big").grpcStatus == 8)
        #expect(GatewayErrorResponse.noRoute("/x").grpcStatus == 12)
        let bytes = GatewayErrorResponse.noInstance("s").grpcBytes(requestID: "r", close: false)
        let text = String(buffer: bytes)
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(text.contains("grpc-status: 14\r\n"))
        #expect(text.contains("content-length: 0\r\n"))
    }

    @Test(
        "a gRPC call is told by its content type, compared without case",
        arguments: [
            ("application/grpc", true), ("Application/GRPC+proto", true), ("application/grpc; charset=x", true),
            ("application/grpcx", false), ("application/json", false), (nil, false),
        ] as [(String?, Bool)])
    func contentType(type: String?, isGRPC: Bool) throws {
        let field = type.map { "Content-Type: \($0)\r\n" } ?? ""
        var fields: [HTTPField] = []
        let head = try RequestHead(Array("POST /a.B/C HTTP/1.1\r\nHost: a\r\n\(field)\r\n".utf8), fieldStorage: &fields)
        #expect(head.isGRPC == isGRPC)
    }
}
