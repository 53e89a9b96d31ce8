import ShoalBalancing
import ShoalCore
import ShoalDiscovery
import Testing

@Suite("Service balancer")
struct ServiceBalancerTests {
    @Test("ejections follow the clock the caller injected, not the system's")
    func injectedClock() throws {
        let clock = ManualClock()
        clock.advance(by: .seconds(1_000_000))  // far from any system clock reading
        let service = ServiceBalancer(
            service: "api", strategy: .roundRobin, configuration: BalancerConfiguration(), clock: clock)
        service.apply(
            ServiceSnapshot(
                service: "api", index: 1,
                instances: [
                    try ServiceInstance(service: "api", id: "a", address: "10.0.0.1", port: 80),
                    try ServiceInstance(service: "api", id: "b", address: "10.0.0.2", port: 80),
                ]))
        let balancer = try #require(service.balancer)
        let picker = balancer.makePicker(seed: 1)
        var failures = 0
        while failures < 5 {
            let pick = try picker.pick()
            if pick.address == "10.0.0.1:80" {
                pick.finish(.failure(.serverError, latency: .milliseconds(1)))
                failures += 1
            } else {
                pick.finish(.success(latency: .milliseconds(1)))
            }
        }
        let ejected = try #require(balancer.report.first { $0.endpoint.address == "10.0.0.1:80" }?.ejectedUntil)
        // The first ejection lasts 30 s, counted from the injected clock's reading.
        #expect(ejected == clock.now() + .seconds(30))
    }
}
