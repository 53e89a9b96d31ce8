import Foundation
import ShoalTesting
import Testing

/// The registry and the gateway through a Sentinel failover, across network hosts: two
/// `shoal serve` take registrations on two hosts, a third routes requests to instances on a
/// fourth, all sharing a Sentinel-managed Redis whose primary is killed mid-run.
@Suite("The registry and the gateway when Redis fails", .serialized, .timeLimit(.minutes(3)))
struct RegistryFailoverTests {
    @Test(
        "kill -9 of the Sentinel primary: no GET through the gateway fails, and an instance registered after it gets traffic"
    )
    func sentinelFailover() async throws {
        let setup = try SentinelLab(hosts: 10)
        defer { setup.tearDown() }
        let cluster = setup.cluster
        try await gatewayThrough(setup.lab, redisURL: cluster.url, label: "Sentinel failover") {
            let old = try cluster.primary()
            old.kill()
            _ = try await cluster.failover(from: old)
        }
    }

    @Test("kill -9 of a lone Redis, restarted with no data: no GET through the gateway fails")
    func restartedEmpty() async throws {
        let lab = try NetworkLab(hosts: 10)
        let redis = try RedisServer.start(on: lab.host(0))
        defer { lab.tearDown() }
        try await gatewayThrough(lab, redisURL: redis.url, label: "restart with no data") {
            try redis.restart()
        }
    }

    /// Two `shoal serve` (hosts 6 and 7) take registrations and a third (host 8) routes to
    /// instances on host 9, while `fault` happens to Redis; then a new instance registers
    /// through the second serve.
    private func gatewayThrough(
        _ lab: NetworkLab, redisURL: String, label: String, fault: () async throws -> Void
    ) async throws {
        let (serveA, serveB, gatewayHost, instances) = (lab.host(6), lab.host(7), lab.host(8), lab.host(9))
        var processes: [LabProcess] = []
        for host in [serveA, serveB, gatewayHost] {
            processes.append(
                try LabProcess(
                    on: host,
                    [
                        "serve", "--admin", "\(host.address):8081", "--listen", "\(host.address):8080", "--insecure",
                        "--redis", redisURL, "--route", "/=web",
                    ]))
        }
        for host in [serveA, serveB, gatewayHost] {
            #expect(await LabHTTP.waitUntilUp(host, port: 8081, path: "/healthz"), "\(processes.map(\.output))")
        }
        for (name, port) in [("w1", 9001), ("w2", 9002), ("w3", 9003)] {
            processes.append(
                try LabProcess(
                    on: instances, ["sample-service", "--listen", "\(instances.address):\(port)", "--name", name]))
            #expect(await LabHTTP.waitUntilUp(instances, port: port))
        }

        // The instances' owners: register through a serve, renew every 2 s on a 6 s TTL,
        // register again on 404, as the API says. Between two renewals, a Redis that lost
        // its data has none of them: only what the gateway kept lets it route then.
        let owners = InstanceOwners(ttl: "6s", timeout: 5)
        owners.add("w1", address: instances.address, port: 9001, through: [serveA])
        owners.add("w2", address: instances.address, port: 9002, through: [serveA])
        let renewing = Task { await owners.renew(every: .seconds(2)) }
        defer { renewing.cancel() }
        #expect(await eventually(within: 20) { LabHTTP.gatewayReaches(["w1", "w2"], through: gatewayHost) })

        let traffic = Task { await GatewayTraffic.run(through: gatewayHost, for: .seconds(14)) }
        try await Task.sleep(for: .seconds(4))
        let started = ContinuousClock.now
        try await fault()
        let faultTook = ContinuousClock.now - started
        owners.add("w3", address: instances.address, port: 9003, through: [serveB])
        let result = await traffic.value
        print(
            "RegistryFailover (\(label)): \(result.sent) GETs, \(result.failed) failed \(result.failures.prefix(5)); "
                + "by instance \(result.byBackend); the fault took \(faultTook); renewals answered 404: \(owners.notFound)"
        )
        #expect(result.sent > 1000)
        #expect(result.failed == 0, "\(result.failures.prefix(10))")
        #expect(result.byBackend["w3", default: 0] > 0, "w3, registered after the fault, got no traffic")
    }
}

/// GETs one after another on a keep-alive connection through a gateway.
enum GatewayTraffic {
    struct Result: Sendable {
        var sent = 0
        var failed = 0
        var failures: [String] = []
        var byBackend: [String: Int] = [:]
    }

    static func run(through host: TestHost, for duration: Duration) async -> Result {
        var result = Result()
        let end = ContinuousClock.now + duration
        var connection: RawConnection?
        while ContinuousClock.now < end {
            if connection == nil { connection = try? RawConnection(host: host.address, port: 8080, timeout: 10) }
            result.sent += 1
            guard let open = connection,
                open.send("GET / HTTP/1.1\r\nHost: \(host.address)\r\n\r\n"), let response = open.readResponse()
            else {
                result.failed += 1
                result.failures.append("no answer")
                connection = nil
                continue
            }
            let body = String(decoding: response.body, as: UTF8.self)
            if response.status == 200,
                let name = body.split(separator: " ").last?.trimmingCharacters(in: .whitespacesAndNewlines)
            {
                result.byBackend[name, default: 0] += 1
            } else {
                result.failed += 1
                result.failures.append("\(response.status) \(body.prefix(80))")
            }
            if response.head.lowercased().contains("connection: close") { connection = nil }
            await Task.yield()
        }
        return result
    }
}
