import Foundation
import ShoalTesting
import Testing

/// `shoal serve` with the gateway tests' routes in front of one sample service, `web-1`, whose
/// request count a test reads: the set-up of the HTTP/2 tests.
struct HTTP2GatewayFixture {
    let web: SampleServiceProcess
    let serve: ServeProcess
    /// The gateway's plain-HTTP address.
    var base: String { "http://127.0.0.1:\(serve.gatewayPort)" }

    init(config: String = GatewayTests.routes) async throws {
        web = try await SampleServiceProcess(name: "web-1")
        serve = try await ServeProcess(config: config)
        try await serve.register("web", web)
        #expect(await serve.waitUntilRouted("/api/x", to: "web-1"))
    }

    func stop() {
        web.stop()
        serve.stop()
    }

    /// Sends `bytes` on a new connection and reads until the gateway closes it (or no byte
    /// comes for `timeout` seconds): what it sent, and how the read ended.
    func attack(_ bytes: [UInt8], timeout: Double = 10) async throws -> (frames: [UInt8], end: RawConnection.ReadEnd) {
        let port = serve.gatewayPort
        let answer = try await blocking {
            let connection = try RawConnection(port: port, timeout: timeout)
            connection.send(bytes)  // false when the gateway closed first: that is the point
            return connection.receiveUntilClosed(limit: 64 << 20)
        }
        return (answer.bytes, answer.end)
    }

    /// Whether an ordinary HTTP/2 client is still served.
    func stillServes() async throws -> Bool {
        let answer = try await GatewayHTTP2Tests.curl([
            "--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
            "\(base)/api/x",
        ])
        return serve.shoal.process.isRunning && answer == "2 200"
    }
}
