import ShoalBalancing
import ShoalCore
import ShoalTesting
import Testing

@Suite("Endpoint-set updates and bad input")
struct UpdateAndValidationTests {
    @Test("bad endpoint sets are refused, naming the endpoint")
    func badSets() throws {
        #expect(
            caught(BalancerError.self) { _ = try LoadBalancer(endpoints: [], strategy: .random) }?.code
                == .emptyEndpointSet)
        var bad = endpoints(3)
        for weight in [0, -1, .nan, .infinity] {
            bad[1].weight = weight
            let error = caught(BalancerError.self) { _ = try LoadBalancer(endpoints: bad, strategy: .random) }
            #expect(error?.code == .invalidWeight)
            #expect(error?.message.contains("10.0.0.1:8080") == true)
        }
        let duplicated = endpoints(2) + endpoints(1)
        #expect(
            caught(BalancerError.self) { _ = try LoadBalancer(endpoints: duplicated, strategy: .random) }?.code
                == .duplicateEndpoint)
    }

    @Test(
        "bad settings are refused",
        arguments: [
            (BalancingStrategy.leastRequest(activeRequestBias: -1), BalancerConfiguration()),
            (.peakEWMA(decay: .zero), BalancerConfiguration()),
            (.hotCold(decay: .seconds(-1)), BalancerConfiguration()),
            (.ringHash(boundedLoad: 0.5), BalancerConfiguration()),
            (.maglev(boundedLoad: .nan), BalancerConfiguration()),
            (.random, BalancerConfiguration(panicThreshold: 1.5)),
            (.random, BalancerConfiguration(outlierDetection: .init(consecutiveFailures: 0))),
            (.random, BalancerConfiguration(slowStart: .init(window: .zero))),
            (.random, BalancerConfiguration(circuitBreaker: .init(failureRateThreshold: 0))),
        ])
    func badSettings(strategy: BalancingStrategy, configuration: BalancerConfiguration) {
        let error = caught(BalancerError.self) {
            _ = try LoadBalancer(endpoints: endpoints(2), strategy: strategy, configuration: configuration)
        }
        #expect(error?.code == .invalidConfiguration)
    }

    @Test("an update keeps the statistics of endpoints that stay and drops the rest")
    func carryOver() throws {
        let balancer = try LoadBalancer(endpoints: endpoints(3), strategy: .leastRequest(), clock: ManualClock())
        let picker = balancer.makePicker(seed: 1)
        let held = try picker.pick()
        let address = held.endpoint.address
        try balancer.update(endpoints: endpoints(5))
        #expect(balancer.report.first { $0.endpoint.address == address }?.inFlight == 1)
        held.finish(ok)
        #expect(balancer.report.allSatisfy { $0.inFlight == 0 })
        try balancer.update(endpoints: Array(endpoints(5).suffix(2)))
        #expect(try picker.counts(20, of: 2).reduce(0, +) == 20)
        #expect(
            caught(BalancerError.self) { try balancer.update(endpoints: endpoints(2) + endpoints(1)) }?.code
                == .duplicateEndpoint)
        #expect(balancer.endpoints.count == 2)  // a refused update leaves the set alone
        try balancer.update(endpoints: [])
        #expect(caught(BalancerError.self) { _ = try picker.pick() }?.code == .noEligibleEndpoint)
    }

    @Test(
        "statistics follow each address whether it stays in place, changes weight or moves; bad sets are still refused")
    func carryOverInPlaceAndMoved() throws {
        let balancer = try LoadBalancer(endpoints: endpoints(4), strategy: .leastRequest(), clock: ManualClock())
        let picker = balancer.makePicker(seed: 1)
        let held = try picker.pick()
        let address = held.endpoint.address
        func inFlight() -> Int? { balancer.report.first { $0.endpoint.address == address }?.inFlight }
        var reweighted = endpoints(4)
        for index in reweighted.indices { reweighted[index].weight = 2 }
        try balancer.update(endpoints: reweighted)  // same addresses, same places
        #expect(inFlight() == 1)
        #expect(balancer.endpoints.allSatisfy { $0.weight == 2 })
        try balancer.update(endpoints: endpoints(4).reversed())  // every address moved
        #expect(inFlight() == 1)
        try balancer.update(endpoints: Array(endpoints(6).dropFirst()))  // shifted by one, one new
        #expect(balancer.report.count == 5 && (address == "10.0.0.0:8080" ? inFlight() == nil : inFlight() == 1))
        var duplicated = endpoints(5)
        duplicated[4] = duplicated[0]
        #expect(caught(BalancerError.self) { try balancer.update(endpoints: duplicated) }?.code == .duplicateEndpoint)
        var badWeight = Array(endpoints(6).dropFirst())
        badWeight[2].weight = 0
        #expect(caught(BalancerError.self) { try balancer.update(endpoints: badWeight) }?.code == .invalidWeight)
        #expect(balancer.endpoints == Array(endpoints(6).dropFirst()), "a refused update leaves the set alone")
        held.finish(ok)
    }

    @Test("one endpoint dropped or added in the middle, or the whole set reordered: every other keeps its statistics")
    func carryOverThroughShifts() throws {
        let all = endpoints(20)
        let balancer = try LoadBalancer(endpoints: all, strategy: .roundRobin, clock: ManualClock())
        let picker = balancer.makePicker(seed: 1)
        let held = try (0..<20).map { _ in try picker.pick() }  // one in flight on each
        func inFlight() -> [String: Int] {
            Dictionary(uniqueKeysWithValues: balancer.report.map { ($0.endpoint.address, $0.inFlight) })
        }
        var without = all
        without.remove(at: 10)
        try balancer.update(endpoints: without)
        #expect(inFlight().count == 19 && inFlight().values.allSatisfy { $0 == 1 })
        var with = without
        with.insert(try Endpoint(host: "10.0.1.1", port: 8080), at: 5)
        try balancer.update(endpoints: with)
        #expect(inFlight()["10.0.1.1:8080"] == 0)
        #expect(inFlight().filter { $0.key != "10.0.1.1:8080" }.values.allSatisfy { $0 == 1 })
        try balancer.update(endpoints: with.reversed())
        #expect(inFlight()["10.0.1.1:8080"] == 0 && inFlight().values.reduce(0, +) == 19)
        for pick in held { pick.finish(ok) }
    }

    @Test("picks from several threads while the set changes lose no in-flight count")
    func concurrentPicksAndUpdates() async throws {
        let balancer = try LoadBalancer(endpoints: endpoints(8), strategy: .peakEWMA())
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<4 {
                group.addTask {
                    let picker = balancer.makePicker(seed: UInt64(task))
                    for round in 0..<20_000 {
                        guard let pick = try? picker.pick() else { continue }
                        pick.finish(round % 50 == 0 ? serverError : .success(latency: .microseconds(round % 700)))
                    }
                }
            }
            group.addTask {
                for round in 0..<200 {
                    try? balancer.update(endpoints: endpoints(4 + round % 5))
                }
            }
        }
        try balancer.update(endpoints: endpoints(8))
        #expect(balancer.report.allSatisfy { $0.inFlight == 0 }, "\(balancer.report.map(\.inFlight))")
    }
}

@Suite("Absurd reports")
struct AbsurdReportTests {
    @Test(
        "negative, huge and infinite-looking latencies are clamped, never trap",
        arguments: [
            Duration.seconds(-5), .seconds(10_000_000_000), .seconds(Int64.max), .zero,
        ])
    func clamped(latency: Duration) throws {
        let balancer = try LoadBalancer(endpoints: endpoints(2), strategy: .peakEWMA(), clock: ManualClock())
        let picker = balancer.makePicker(seed: 1)
        for _ in 0..<4 {
            try picker.pick().finish(.success(latency: latency))
            try picker.pick().finish(.failure(.timeout, latency: latency))
        }
        let report = balancer.report
        #expect(
            report.allSatisfy { $0.inFlight == 0 && $0.latencyEWMA >= .zero && $0.latencyEWMA <= .seconds(1_000_000) })
    }
}
