import Foundation
import ShoalTesting
import Testing

/// The three-machine deployment of Docs/DEPLOYING.md, on the network lab: three `shoal serve`
/// gateways (hosts 6 to 8) share a Sentinel-managed Redis (hosts 0 to 5), and two sample
/// services run on hosts 9 and 10. scripts/test-release runs it with the release binary
/// (`SHOAL_BINARY`); scripts/test with the one it builds.
@Suite("The three-host walkthrough", .serialized, .timeLimit(.minutes(5)))
struct WalkthroughTests {
    @Test("one gateway cut off, then all three restarted one at a time under load: no failed request")
    func threeGateways() async throws {
        let setup = try SentinelLab(hosts: 11)
        defer { setup.tearDown() }
        let hosts = [setup.host(6), setup.host(7), setup.host(8)]
        var gateways = try hosts.map { try Self.gateway(on: $0, redis: setup.cluster.url) }
        for host in hosts {
            #expect(await LabHTTP.waitUntilUp(host, port: 8081, path: "/healthz"), "\(gateways.map(\.output))")
        }
        let (first, second) = (setup.host(9), setup.host(10))
        let services = try [
            LabProcess(on: first, ["sample-service", "--listen", "\(first.address):9001", "--name", "w1"]),
            LabProcess(on: second, ["sample-service", "--listen", "\(second.address):9001", "--name", "w2"]),
            LabProcess(on: second, ["sample-service", "--listen", "\(second.address):9002", "--name", "w3"]),
            LabProcess(
                on: first, ["sample-service", "--listen", "\(first.address):9009", "--name", "slow", "--latency", "1s"]),
        ]
        for (host, port) in [(first, 9001), (second, 9001), (second, 9002), (first, 9009)] {
            #expect(await LabHTTP.waitUntilUp(host, port: port), "\(services.map(\.output))")
        }

        // The instances' owners register through whichever gateway answers, and renew.
        // Each owner tries the registries in turn, giving each a second, as a client given
        // every registry's address does.
        let owners = InstanceOwners(ttl: "10s", timeout: 1)
        owners.add("w1", address: first.address, port: 9001, through: hosts)
        owners.add("w2", address: second.address, port: 9001, through: hosts)
        owners.add("slow", service: "slow", address: first.address, port: 9009, through: hosts)
        let renewing = Task { await owners.renew(every: .seconds(2)) }
        defer { renewing.cancel() }
        for host in hosts {
            #expect(await eventually(within: 20) { LabHTTP.gatewayReaches(["w1", "w2"], through: host) })
        }

        // One gateway host is cut off from everything. The other two keep serving, and an
        // instance registered through one of them gets traffic through the other.
        let cut = SteadyLoad(through: [hosts[0], hosts[1]], workers: 2)
        try setup.lab.isolate(8)
        owners.add("w3", address: second.address, port: 9002, through: hosts)  // hosts[0] is the first that answers
        let w3Seen = await eventually(within: 15) { LabHTTP.gatewayReaches(["w3"], through: hosts[1]) }
        try await Task.sleep(for: .seconds(3))
        let duringCut = await cut.stop()
        print("Walkthrough, host 8 cut off: \(Self.describe(duringCut))")
        #expect(w3Seen, "w3, registered through \(hosts[0].address), got no traffic through \(hosts[1].address)")
        #expect(duringCut.sent > 300)
        #expect(duringCut.failed == 0, "\(duringCut.failures)")

        // Back on the network, the third gateway catches up with what it missed.
        try setup.lab.heal()
        #expect(await eventually(within: 30) { LabHTTP.gatewayReaches(["w1", "w2", "w3"], through: hosts[2]) })

        // A rolling restart under steady load: SIGTERM, a clean exit, start again, next.
        let rolling = SteadyLoad(through: hosts, workers: 2)
        try await Task.sleep(for: .seconds(2))
        for (index, host) in hosts.enumerated() {
            // A request in flight when SIGTERM comes (the slow instance takes 1 s) gets its
            // answer: the gateway drains before it exits.
            async let inFlight = blocking { () -> Int? in
                guard let connection = try? RawConnection(host: host.address, port: 8080, timeout: 10),
                    connection.send("GET /slow HTTP/1.1\r\nHost: \(host.address)\r\n\r\n")
                else { return nil }
                return connection.readResponse()?.status
            }
            try await Task.sleep(for: .milliseconds(300))
            let old = gateways[index].process
            old.signal(SIGTERM)
            let drained = try await inFlight
            #expect(
                drained == 200, "the request in flight at SIGTERM on \(host.address): \(String(describing: drained))")
            let exited = await old.exited(within: 40)
            #expect(
                exited && old.exitCode == 0,
                "gateway \(host.address) after SIGTERM: exit code \(String(describing: old.exitCode))")
            gateways[index] = try Self.gateway(on: host, redis: setup.cluster.url)
            #expect(await LabHTTP.waitUntilUp(host, port: 8081, path: "/healthz"), "\(gateways[index].output)")
            try await Task.sleep(for: .seconds(2))
        }
        let restarts = await rolling.stop()
        print("Walkthrough, rolling restart: \(Self.describe(restarts))")
        #expect(restarts.sent > 1000)
        #expect(restarts.failed == 0, "\(restarts.failures)")
        #expect(Set(restarts.byBackend.keys) == ["w1", "w2", "w3"])
        #expect(restarts.byGateway.count == 3, "\(restarts.byGateway)")
    }

    /// `shoal serve` on `host`: the gateway on :8080 routing /slow to `slow` and everything
    /// else to `web`, the admin API on :8081, the registry in the Redis behind `redis`.
    private static func gateway(on host: TestHost, redis: String) throws -> LabProcess {
        try LabProcess(
            on: host,
            [
                "serve", "--listen", "\(host.address):8080", "--admin", "\(host.address):8081", "--insecure",
                "--redis", redis, "--route", "/slow=slow", "--route", "/=web",
            ])
    }

    private static func describe(_ result: SteadyLoad.Result) -> String {
        "\(result.sent) GETs, \(result.failed) failed \(result.failures.prefix(5)), \(result.resent) sent again "
            + "after a closed connection; by instance \(result.byBackend.sorted { $0.key < $1.key }); "
            + "by gateway \(result.byGateway.sorted { $0.key < $1.key })"
    }
}
