import Foundation
import ShoalTesting
import Testing

/// The gateway's default strategy on real sockets, driven by a client Shoal did not write.
@Suite("the gateway's default balancing, on real sockets")
struct GatewayBalancingTests {
    static let config = """
        admin: 127.0.0.1:0
        listen: 127.0.0.1:0
        threads: 1
        routes:
          default:
            prefix: /default
            service: web
            strip_prefix: true
          roundrobin:
            prefix: /rr
            service: web
            strip_prefix: true
            strategy: roundRobin

        """

    /// Runs `h2load` over HTTP/1.1: `requests` in all, from `clients` connections that each
    /// send their next request when the last is answered. Returns how many each instance read.
    private func load(
        _ url: String, requests: Int, clients: Int, instances: [SampleServiceProcess]
    ) async throws -> [Int] {
        var before: [Int] = []
        for instance in instances { before.append(try await instance.requestsServed()) }
        let run = try await blocking {
            try ChildProcess.run(
                URL(fileURLWithPath: "/usr/bin/h2load"), ["--h1", "-n", "\(requests)", "-c", "\(clients)", url])
        }
        let output = String(decoding: run.stdout, as: UTF8.self)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(output.contains("\(requests) succeeded, 0 failed"), "\(output)")
        var served: [Int] = []
        for (instance, count) in zip(instances, before) { served.append(try await instance.requestsServed() - count) }
        return served
    }

    @Test(
        "one instance of three 50× slower: the default strategy sends it at most 1 % of 800 requests from 8 clients; round robin a third"
    )
    func slowInstanceAvoided() async throws {
        let webs = [
            try await SampleServiceProcess(name: "web-1", latency: "1ms"),
            try await SampleServiceProcess(name: "web-2", latency: "1ms"),
            try await SampleServiceProcess(name: "web-slow", latency: "50ms"),
        ]
        let serve = try await ServeProcess(config: Self.config)
        defer {
            for web in webs { web.stop() }
            serve.stop()
        }
        for web in webs { try await serve.register("web", web) }
        for web in webs { #expect(await serve.waitUntilRouted("/rr/x", to: web.name, within: 20)) }
        let base = "http://127.0.0.1:\(serve.gatewayPort)"

        let standard = try await load("\(base)/default/x", requests: 800, clients: 8, instances: webs)
        #expect(standard.reduce(0, +) == 800, "\(standard)")
        #expect(standard[2] <= 8, "the slow instance served \(standard[2]) of 800: \(standard)")

        // The same instances and clients, round robin: the slow one takes its third, so the
        // count above is the strategy's doing, not the instance's.
        let roundRobin = try await load("\(base)/rr/x", requests: 300, clients: 8, instances: webs)
        #expect(roundRobin[2] >= 90, "round robin: \(roundRobin)")
    }
}
