import ShoalBalancing
import ShoalCore
import Testing

@Suite("Strategies")
struct StrategyTests {
    @Test("a retry's pick avoids the endpoints already tried, whatever the strategy", arguments: BalancingStrategy.allDefaults)
    func avoiding(strategy: BalancingStrategy) throws {
        let balancer = try LoadBalancer(endpoints: endpoints(3), strategy: strategy)
        let picker = balancer.makePicker(seed: 7)
        // Make 10.0.0.0 the one every strategy likes best: fastest, nothing in flight.
        for _ in 0..<50 {
            let pick = try picker.pick(key: "k")
            pick.finish(.success(latency: pick.index == 0 ? .microseconds(100) : .milliseconds(50)))
        }
        for n in 0..<200 {
            let pick = try picker.pick(key: "key-\(n)", avoiding: ["10.0.0.0:8080"])
            #expect(pick.index != 0)
            pick.finish(.success(latency: .milliseconds(1)))
        }
        let last = try picker.pick(key: "k", avoiding: ["10.0.0.0:8080", "10.0.0.1:8080"])
        #expect(last.index == 2)
        last.finish(.success(latency: .milliseconds(1)))
        #expect(throws: BalancerError.self) {
            try picker.pick(key: "k", avoiding: ["10.0.0.0:8080", "10.0.0.1:8080", "10.0.0.2:8080"])
        }
    }

    @Test("round robin visits every endpoint in turn")
    func roundRobin() throws {
        let balancer = try LoadBalancer(endpoints: endpoints(4), strategy: .roundRobin, clock: ManualClock())
        let picker = balancer.makePicker(seed: 1)
        let order = try (0..<8).map { _ in try picker.pick().index }
        #expect(Set(order.prefix(4)).count == 4)
        #expect(Array(order.prefix(4)) == Array(order.suffix(4)))
        for (a, b) in zip(order, order.dropFirst()) {
            #expect(b == (a + 1) % 4)
        }
    }

    @Test("smooth weighted round robin spreads the heavy endpoint out (nginx's 5, 1, 1)")
    func smoothWeighted() throws {
        let balancer = try LoadBalancer(
            endpoints: endpoints(3, weights: [5, 1, 1]), strategy: .weightedRoundRobin, clock: ManualClock())
        let picker = balancer.makePicker(seed: 1)
        let names = try (0..<7).map { _ in ["a", "b", "c"][try picker.pick().index] }.joined()
        #expect(names == "aabacaa")
    }

    @Test("smooth weighted round robin with equal weights is plain rotation")
    func smoothEqualWeights() throws {
        let balancer = try LoadBalancer(endpoints: endpoints(5), strategy: .weightedRoundRobin, clock: ManualClock())
        let picker = balancer.makePicker(seed: 2)
        let order = try (0..<10).map { _ in try picker.pick().index }
        for (a, b) in zip(order, order.dropFirst()) {
            #expect(b == (a + 1) % 5)
        }
    }

    @Test("random is uniform and weighted random follows weights", arguments: [false, true])
    func randomShares(weighted: Bool) throws {
        let weights: [Double] = weighted ? [1, 2, 3, 4] : [1, 1, 1, 1]
        let balancer = try LoadBalancer(
            endpoints: endpoints(4, weights: weights), strategy: weighted ? .weightedRandom : .random,
            clock: ManualClock())
        let counts = try balancer.makePicker(seed: 7).counts(40_000, of: 4)
        let total = weights.reduce(0, +)
        for (count, weight) in zip(counts, weights) {
            let expected = 40_000 * weight / total
            #expect(abs(Double(count) - expected) < 0.06 * expected, "\(counts)")
        }
    }

    @Test("least request sends the next request to the endpoint with fewer in flight")
    func leastRequest() throws {
        let balancer = try LoadBalancer(endpoints: endpoints(2), strategy: .leastRequest(), clock: ManualClock())
        let picker = balancer.makePicker(seed: 3)
        let held = try picker.pick()
        for _ in 0..<50 {
            let next = try picker.pick()
            #expect(next.index != held.index)
            next.finish(ok)
        }
        held.finish(ok)
    }

    @Test("least request honours weights: weight 3 takes about three times the load")
    func weightedLeastRequest() throws {
        let balancer = try LoadBalancer(
            endpoints: endpoints(2, weights: [1, 3]), strategy: .leastRequest(), clock: ManualClock())
        let picker = balancer.makePicker(seed: 3)
        var held: [Pick] = []
        for _ in 0..<400 { held.append(try picker.pick()) }
        let onHeavy = held.filter { $0.index == 1 }.count
        #expect(onHeavy > 280 && onHeavy < 320, "\(onHeavy) of 400 on the weight-3 endpoint")
        held.forEach { $0.finish(ok) }
    }

    @Test("Peak EWMA avoids a slow endpoint and tries it again once its cost has decayed")
    func peakEWMA() throws {
        let clock = ManualClock()
        let balancer = try LoadBalancer(endpoints: endpoints(2), strategy: .peakEWMA(decay: .seconds(10)), clock: clock)
        let picker = balancer.makePicker(seed: 5)
        for _ in 0..<20 {
            let pick = try picker.pick()
            pick.finish(.success(latency: pick.index == 0 ? .milliseconds(500) : .milliseconds(5)))
            clock.advance(by: .milliseconds(10))
        }
        let counts = try (0..<100).reduce(into: [0, 0]) { counts, _ in
            let pick = try picker.pick()
            counts[pick.index] += 1
            pick.finish(.success(latency: pick.index == 0 ? .milliseconds(500) : .milliseconds(5)))
            clock.advance(by: .milliseconds(10))
        }
        #expect(counts[0] == 0, "the slow endpoint got \(counts[0]) of 100")
        // A minute of silence decays 500 ms × e^-6 ≈ 1.2 ms, below the fast endpoint's 5 ms.
        clock.advance(by: .seconds(60))
        let tried = try (0..<20).contains { _ in
            let pick = try picker.pick()
            defer { pick.finish(.success(latency: .milliseconds(5))) }
            return pick.index == 0
        }
        #expect(tried)
    }

    @Test(
        "ring hash and Maglev keep a key on one endpoint and move it only if that endpoint goes",
        arguments: [BalancingStrategy.ringHash(), .maglev()])
    func sticky(strategy: BalancingStrategy) throws {
        let balancer = try LoadBalancer(endpoints: endpoints(5), strategy: strategy, clock: ManualClock())
        let picker = balancer.makePicker(seed: 1)
        let owner = try picker.pick(key: "session-42").index
        for _ in 0..<10 {
            let pick = try picker.pick(key: "session-42")
            #expect(pick.index == owner)
            pick.finish(ok)
        }
        balancer.setHealth(of: balancer.endpoints[owner].address, healthy: false)
        let moved = try picker.pick(key: "session-42")
        #expect(moved.index != owner)
    }

    @Test("bounded-load ring hash caps a hot key's endpoint at c × the mean in flight")
    func boundedSticky() throws {
        let balancer = try LoadBalancer(
            endpoints: endpoints(4), strategy: .ringHash(boundedLoad: 1.25), clock: ManualClock())
        let picker = balancer.makePicker(seed: 1)
        let held = try (0..<40).map { _ in try picker.pick(key: "hot") }
        let counts = held.reduce(into: [0, 0, 0, 0]) { $0[$1.index] += 1 }
        #expect(counts.max()! <= Int((1.25 * 10).rounded(.up)), "\(counts)")
        held.forEach { $0.finish(ok) }
    }
}
