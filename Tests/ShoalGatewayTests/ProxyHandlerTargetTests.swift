import NIOCore
import Testing

@testable import ShoalGateway

/// The request target as the proxy routes it and sends it on: a path spelled any way reaches
/// the route its normalised form names, and the instance gets that form.
@Suite("the proxy handler: requests routed on their normalised path, absolute-form read, bad targets refused")
struct ProxyHandlerTargetTests {
    static func harness() throws -> ProxyHarness {
        try ProxyHarness(
            routes: [
                try GatewayRoute(prefix: "/public", service: "public", strategy: .roundRobin),
                try GatewayRoute(prefix: "/admin", service: "admin", strategy: .roundRobin),
                try GatewayRoute(
                    prefix: "/files", service: "files", stripPrefix: true, strategy: .roundRobin,
                    allowsEncodedSlashes: true),
            ],
            instances: ["public": [8001], "admin": [8002], "files": [8003]])
    }

    /// (target, the instance's port, the request line's target the instance gets)
    static let routed: [(String, Int, String)] = [
        ("/public/x", 8001, "/public/x"),
        ("/public/../admin/x", 8002, "/admin/x"),
        ("/public/%2e%2e/admin/x", 8002, "/admin/x"),
        ("//admin//x/./y", 8002, "/admin/x/y"),
        ("/%70ublic/a?q=/../b", 8001, "/public/a?q=/../b"),
        ("/files/a%2fb/c", 8003, "/a%2Fb/c"),
        ("/files/a%2Fb/../c", 8003, "/c"),
        ("/files/a%5cb", 8003, "/a%5Cb"),
        ("http://other.example/public/y", 8001, "/public/y"),
    ]

    @Test("each spelling reaches the route of its normalised path, and the instance gets that path", arguments: routed)
    func routing(_ target: String, _ port: Int, _ sent: String) throws {
        let harness = try Self.harness()
        try harness.send("GET \(target) HTTP/1.1\r\nHost: gateway.example\r\n\r\n")
        let answer = try harness.toClient()
        try #require(harness.upstreams.count == 1, "\(answer)")
        #expect(harness.upstreams[0].address == "10.0.0.1:\(port)")
        let head = try harness.toUpstream(0)
        #expect(head.hasPrefix("GET \(sent) HTTP/1.1\r\n"), "\(head)")
        if target.hasPrefix("http://") {
            #expect(head.contains("host: other.example\r\n") && !head.contains("gateway.example"), "\(head)")
            #expect(head.contains("x-forwarded-host: other.example\r\n"))
        }
    }

    @Test("refused with 400: encoded slashes where the route does not allow them, bad escapes, fragments")
    func refused() throws {
        for target in ["/public/a%2Fb", "/admin/a%5Cb", "/admin/a\\b", "/public/%zz", "/public/a#f", "http://u@h/public"] {
            let harness = try Self.harness()
            try harness.send("GET \(target) HTTP/1.1\r\nHost: g\r\n\r\n")
            #expect(harness.upstreams.isEmpty, "\(target)")
            let answer = try harness.toClient()
            #expect(answer.hasPrefix("HTTP/1.1 400 "), "\(target): \(answer)")
        }
    }

    @Test("bytes that cannot start a request get 400 at once, not at the header timeout")
    func garbageFirst() throws {
        let harness = try Self.harness()
        try harness.client.writeInbound(ByteBuffer(bytes: [0x16, 0x03, 0x01, 0x00, 0xF1, 0x01]))
        #expect(try harness.toClient().hasPrefix("HTTP/1.1 400 "))
        #expect(!harness.client.isActive)
    }
}
