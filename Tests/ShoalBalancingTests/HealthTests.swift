import ShoalBalancing
import ShoalCore
import Testing

@Suite("Endpoint health")
struct HealthTests {
    /// Fails `count` requests on endpoint `index`, picking until it comes up.
    static func fail(_ index: Int, times count: Int, picker: BalancerPicker) throws {
        var failed = 0
        while failed < count {
            let pick = try picker.pick()
            if pick.index == index {
                pick.finish(serverError)
                failed += 1
            } else {
                pick.finish(ok)
            }
        }
    }

    @Test("five failures in a row eject; each ejection in a row lasts longer; time up re-admits")
    func ejection() throws {
        let clock = ManualClock()
        let balancer = try LoadBalancer(endpoints: endpoints(10), strategy: .roundRobin, clock: clock)
        let picker = balancer.makePicker(seed: 1)
        try Self.fail(3, times: 5, picker: picker)
        #expect(try picker.counts(100, of: 10)[3] == 0)
        clock.advance(by: .seconds(29))
        #expect(try picker.counts(100, of: 10)[3] == 0)
        clock.advance(by: .seconds(2))
        #expect(try picker.counts(100, of: 10)[3] == 10)

        try Self.fail(3, times: 5, picker: picker)  // second ejection in a row: 60 s
        clock.advance(by: .seconds(45))
        #expect(try picker.counts(100, of: 10)[3] == 0)
        clock.advance(by: .seconds(16))
        #expect(try picker.counts(100, of: 10)[3] == 10)
    }

    @Test("hasEndpoint(outside:) counts only endpoints a pick could choose: not an ejected one")
    func untriedLeftSkipsEjected() throws {
        let clock = ManualClock()
        let balancer = try LoadBalancer(endpoints: endpoints(10), strategy: .roundRobin, clock: clock)
        let picker = balancer.makePicker(seed: 1)
        let others = endpoints(10).map(\.address).filter { $0 != endpoints(10)[3].address }
        #expect(picker.hasEndpoint(outside: others))  // endpoint 3 is left, and eligible
        try Self.fail(3, times: 5, picker: picker)  // ejected for 30 s
        #expect(!picker.hasEndpoint(outside: others))
        #expect(!balancer.hasEndpoint(outside: others))
        #expect(picker.hasEndpoint(outside: []))
        clock.advance(by: .seconds(31))  // re-admitted
        #expect(picker.hasEndpoint(outside: others))
        #expect(balancer.hasEndpoint(outside: others))
    }

    @Test("a success resets the failure count")
    func successResets() throws {
        let balancer = try LoadBalancer(endpoints: endpoints(1), strategy: .roundRobin, clock: ManualClock())
        let picker = balancer.makePicker(seed: 1)
        for round in 0..<10 {
            try picker.pick().finish(round % 4 == 3 ? ok : serverError)
        }
        #expect(try picker.counts(10, of: 1)[0] == 10)
    }

    @Test("no more than the maximum share is ejected at once")
    func ejectionCap() throws {
        let balancer = try LoadBalancer(endpoints: endpoints(10), strategy: .roundRobin, clock: ManualClock())
        let picker = balancer.makePicker(seed: 1)
        try Self.fail(1, times: 5, picker: picker)
        try Self.fail(2, times: 5, picker: picker)  // 2 of 10 would be 20 % > 10 %: stays in
        let counts = try picker.counts(90, of: 10)
        #expect(counts[1] == 0)
        #expect(counts[2] == 10)
    }

    @Test("below the panic threshold, unhealthy endpoints take traffic again")
    func panic() throws {
        let balancer = try LoadBalancer(endpoints: endpoints(4), strategy: .roundRobin, clock: ManualClock())
        let picker = balancer.makePicker(seed: 1)
        balancer.setHealth(of: "10.0.0.0:8080", healthy: false)
        #expect(try picker.counts(30, of: 4)[0] == 0)  // 3 of 4 healthy: no panic
        balancer.setHealth(of: "10.0.0.1:8080", healthy: false)
        balancer.setHealth(of: "10.0.0.2:8080", healthy: false)
        #expect(try picker.counts(40, of: 4) == [10, 10, 10, 10])  // 1 of 4 < 50 %: panic
    }

    @Test("with panic mode off and nothing healthy, a pick fails with a typed error")
    func nothingEligible() throws {
        var configuration = BalancerConfiguration()
        configuration.panicThreshold = 0
        for strategy in BalancingStrategy.allDefaults {
            let balancer = try LoadBalancer(
                endpoints: endpoints(2), strategy: strategy, configuration: configuration, clock: ManualClock())
            balancer.setHealth(of: "10.0.0.0:8080", healthy: false)
            balancer.setHealth(of: "10.0.0.1:8080", healthy: false)
            #expect(throws: BalancerError.nothingEligibleForTests) { try balancer.pick(key: "k") }
        }
    }

    @Test("slow start ramps a new endpoint's share over the window")
    func slowStart() throws {
        let clock = ManualClock()
        var configuration = BalancerConfiguration()
        configuration.slowStart = .init(window: .seconds(60))
        let balancer = try LoadBalancer(
            endpoints: endpoints(2), strategy: .weightedRandom, configuration: configuration, clock: clock)
        let picker = balancer.makePicker(seed: 9)
        try balancer.update(endpoints: endpoints(3))
        let early = try picker.counts(30_000, of: 3)[2]
        clock.advance(by: .seconds(30))
        let halfway = try picker.counts(30_000, of: 3)[2]
        clock.advance(by: .seconds(31))
        let done = try picker.counts(30_000, of: 3)[2]
        // Weight factors 0.1, 0.5 and 1 give shares 0.1/2.1, 0.5/2.5 and 1/3.
        #expect(abs(Double(early) / 30_000 - 0.1 / 2.1) < 0.01, "\(early)")
        #expect(abs(Double(halfway) / 30_000 - 0.5 / 2.5) < 0.015, "\(halfway)")
        #expect(abs(Double(done) / 30_000 - 1.0 / 3) < 0.015, "\(done)")
    }

    /// Two endpoints with breakers; endpoint 0 failed until its breaker opened, and its open
    /// time has passed, so its next pick is a half-open probe.
    static func halfOpenBreaker(strategy: BalancingStrategy, probes: Int, seed: UInt64) throws
        -> (LoadBalancer, BalancerPicker)
    {
        let clock = ManualClock()
        var configuration = BalancerConfiguration()
        configuration.outlierDetection = nil
        configuration.circuitBreaker = .init(minimumRequests: 4, openDuration: .seconds(5), halfOpenProbes: probes)
        let balancer = try LoadBalancer(
            endpoints: endpoints(2), strategy: strategy, configuration: configuration, clock: clock)
        let picker = balancer.makePicker(seed: seed)
        for _ in 0..<20 {
            let pick = try picker.pick()
            pick.finish(pick.index == 0 ? serverError : ok)
        }
        #expect(balancer.report[0].circuit == .open(until: 5_000_000_000))
        clock.advance(by: .seconds(6))
        return (balancer, picker)
    }

    @Test("a half-open breaker judged as a P2C candidate but not chosen keeps its probe slots")
    func probesAreNotLeaked() throws {
        let (balancer, picker) = try Self.halfOpenBreaker(strategy: .leastRequest(), probes: 3, seed: 4)
        // Hold a request on endpoint 1 now and then, so least request sometimes prefers 0.
        for round in 0..<200 {
            let pick = try picker.pick()
            if round % 2 == 0 { pick.finish(ok) } else { try picker.pick().finish(ok); pick.finish(ok) }
        }
        #expect(balancer.report[0].circuit == .closed)
    }

    @Test("a cancelled pick gives its half-open probe back, counting neither success nor failure")
    func cancelledProbeIsReturned() throws {
        let (balancer, picker) = try Self.halfOpenBreaker(strategy: .roundRobin, probes: 2, seed: 3)
        // Many more cancelled probes than there are slots: each must give its slot back.
        var cancelled = 0
        for _ in 0..<40 {
            let pick = try picker.pick()
            if pick.index == 0 { cancelled += 1 }
            pick.finish(pick.index == 0 ? .failure(.cancelled, latency: .milliseconds(1)) : ok)
        }
        #expect(cancelled >= 10, "endpoint 0 stopped being picked after \(cancelled) cancelled probes")
        // Cancelling counted as neither: the breaker is still half-open, and two successes close it.
        #expect(balancer.report[0].circuit == .halfOpen)
        var probed = 0
        for _ in 0..<40 where probed < 2 {
            let pick = try picker.pick()
            if pick.index == 0 { probed += 1 }
            pick.finish(ok)
        }
        #expect(balancer.report[0].circuit == .closed)
    }

    @Test("a re-admitted endpoint ramps up again under slow start")
    func slowStartAfterEjection() throws {
        let clock = ManualClock()
        var configuration = BalancerConfiguration()
        configuration.slowStart = .init(window: .seconds(60))
        let balancer = try LoadBalancer(
            endpoints: endpoints(10), strategy: .weightedRandom, configuration: configuration, clock: clock)
        let picker = balancer.makePicker(seed: 8)
        try Self.fail(4, times: 5, picker: picker)
        clock.advance(by: .seconds(31))  // re-admitted after 30 s, 1 s into its ramp
        let share = Double(try picker.counts(20_000, of: 10)[4]) / 20_000
        // Weight factor 0.1 against nine endpoints at 1: 0.1 / 9.1 ≈ 1.1 %.
        #expect(share > 0.005 && share < 0.02, "\(share)")
        clock.advance(by: .seconds(60))
        let later = Double(try picker.counts(20_000, of: 10)[4]) / 20_000
        #expect(abs(later - 0.1) < 0.01, "\(later)")
    }

    @Test("circuit breakers stop traffic to a failing endpoint and probe it later")
    func breaker() throws {
        let clock = ManualClock()
        var configuration = BalancerConfiguration()
        configuration.outlierDetection = nil
        configuration.circuitBreaker = .init(minimumRequests: 10, failureRateThreshold: 0.5, openDuration: .seconds(5))
        let balancer = try LoadBalancer(
            endpoints: endpoints(2), strategy: .roundRobin, configuration: configuration, clock: clock)
        let picker = balancer.makePicker(seed: 1)
        for _ in 0..<20 {
            let pick = try picker.pick()
            pick.finish(pick.index == 0 ? serverError : ok)
        }
        #expect(try picker.counts(10, of: 2)[0] == 0)
        clock.advance(by: .seconds(6))
        #expect(try picker.counts(10, of: 2)[0] > 0)  // half-open probes, which succeed
    }
}

extension BalancerError {
    static let nothingEligibleForTests = BalancerError(.noEligibleEndpoint, "no endpoint is eligible for a request")
}
