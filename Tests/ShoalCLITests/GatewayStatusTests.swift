import Foundation
import ShoalTesting
import Testing

@Suite("GET /v1/gateway: the gateway's routes and instances as its balancers see them", .serialized)
struct GatewayStatusTests {
    @Test(
        "each route lists its instances; one that refuses connections is ejected; no retry is counted without another instance"
    )
    func status() async throws {
        let routed = try await RoutedGateway(["--token", "secret"], token: "secret")
        defer { routed.stop() }
        let serve = routed.serve
        let gone = try await SampleServiceProcess(name: "gone")
        gone.kill()
        try await serve.register("orders", gone, token: "secret")
        #expect(await eventually(within: 10) { (try? await serve.gateway("/api/orders/1"))?.status == 502 })
        for _ in 0..<10 { _ = try await serve.gateway("/api/orders/1") }

        #expect(try await serve.request("GET", "/v1/gateway").status == 401)
        #expect(try await serve.request("POST", "/v1/gateway", token: "secret").status == 405)
        let answer = try await serve.request("GET", "/v1/gateway", token: "secret")
        #expect(answer.status == 200)
        let status = ServeProcess.object(answer.body)
        #expect(status["tls"] as? Bool == false && status["draining"] as? Bool == false)
        #expect(status["retries"] as? Int == 0)
        let routes = status["routes"] as? [[String: Any]] ?? []
        #expect(Set(routes.compactMap { $0["prefix"] as? String }) == ["/api", "/api/orders", "/slow", "/small"])
        func instances(_ prefix: String) -> [[String: Any]] {
            routes.first { $0["prefix"] as? String == prefix }?["instances"] as? [[String: Any]] ?? []
        }
        let web = try #require(instances("/api").first)
        #expect(web["address"] as? String == "127.0.0.1:\(routed.web.port)")
        #expect(web["healthy"] as? Bool == true && web["ejected"] as? Bool == false && web["in_flight"] as? Int == 0)
        let dead = try #require(instances("/api/orders").first)
        #expect(dead["address"] as? String == "127.0.0.1:\(gone.port)")
        #expect(dead["ejected"] as? Bool == true && (dead["ejections"] as? Int ?? 0) >= 1, "\(dead)")
        #expect(instances("/slow").isEmpty)
        #expect(routes.first { $0["prefix"] as? String == "/api" }?["strategy"] as? String == "hotCold")
    }
}
