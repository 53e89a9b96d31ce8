import ShoalCore
import Testing

@testable import ShoalBalancing

@Suite("hot-cold: near the lowest latency among the endpoints not holding twice their share")
struct HotColdTests {
    /// The rule's choice among candidates given as (load, latency) pairs, ties from the first.
    private func choose(_ candidates: [(Double, Double)], first: Int = 0, slack: Double = 0) -> Int {
        HotColdRule.choose(
            count: candidates.count, first: first, slack: slack, load: { candidates[$0].0 },
            latency: { candidates[$0].1 }
        ).index
    }

    /// Endpoint 2 answers in 50 ms, the others in 5 ms.
    private static func latency(_ index: Int) -> Duration {
        index == 2 ? .milliseconds(50) : .milliseconds(5)
    }

    /// A hot-cold balancer over three endpoints on a manual clock, and a picker of it.
    private func balancer(_ strategy: BalancingStrategy, seed: UInt64) throws -> (ManualClock, BalancerPicker) {
        let clock = ManualClock()
        let balancer = try LoadBalancer(endpoints: endpoints(3), strategy: strategy, clock: clock)
        return (clock, balancer.makePicker(seed: seed))
    }

    /// Thirty picks a millisecond apart, each answered at once: every endpoint's latency learnt.
    private func learn(_ picker: BalancerPicker, _ clock: ManualClock) throws {
        for _ in 0..<30 {
            let pick = try picker.pick()
            pick.finish(.success(latency: Self.latency(pick.index)))
            clock.advance(by: .milliseconds(1))
        }
    }

    @Test("a 10x slower endpoint is not chosen while a fast one is cold, however busy it is below the mark")
    func slowAvoided() {
        // Peak EWMA's costs here: 5 × 5 = 25 and 5 × 5 = 25 against 50 × 1: it would pick the slow one
        // whenever two busy fast ones came up together; the rule does not.
        #expect(choose([(4, 5), (4, 5), (0, 50)]) == 0)
        // Busier still, but under twice the mean plus one ((9 + 9 + 0 + 1) × 2 / 3 ≈ 12.7).
        #expect(choose([(9, 5), (9, 5), (0, 50)], first: 2) == 0)
    }

    @Test("among the near-best, the fewest in flight; ties go round from `first`")
    func fewestAmongNearBest() {
        #expect(choose([(3, 5), (1, 6), (0, 7)]) == 1)  // 7 > 5 × 1.25: not near-best
        #expect(choose([(2, 5), (2, 5), (2, 5)], first: 2) == 2)
        #expect(choose([(2, 5), (2, 5), (2, 5)], first: 1) == 1)
    }

    @Test("latencies within the absolute slack of the lowest count as near-best: the fewest in flight wins")
    func slack() {
        // 0.2 ms against 0.5 ms: not within a quarter, but within a slack of 1 (ms).
        #expect(choose([(2, 0.2), (0, 0.5)]) == 0)
        #expect(choose([(2, 0.2), (0, 0.5)], slack: 1) == 1)
        // 5 ms against 50 ms: far outside 5 × 1.25 + 1.
        #expect(choose([(4, 5), (0, 50)], slack: 1) == 0)
    }

    @Test("a hot endpoint is passed over even when it is the fastest; when all are hot, the fewest in flight")
    func hot() {
        // Mean with one: (20 + 1 + 1 + 1) × 2 / 3 ≈ 15.3: the first is hot.
        #expect(choose([(20, 1), (1, 5), (1, 5)]) == 1)
        // A lone candidate is never hot against itself.
        #expect(choose([(100, 5)]) == 0)
    }

    @Test("an endpoint never measured and idle is tried first; one with requests out and no answer is last")
    func unknownLatency() {
        #expect(choose([(1, 5), (0, 0)]) == 1)
        #expect(choose([(1, 5), (1, .infinity)]) == 0)
        #expect(choose([(1, .infinity), (1, .infinity)], first: 1) == 1)
    }

    @Test(
        "the balancer: a slow endpoint gets no requests while the fast ones are cold, and is tried again once its latency has decayed"
    )
    func balancer() throws {
        let (clock, picker) = try balancer(.hotCold(decay: .seconds(10)), seed: 7)
        try learn(picker, clock)
        // Eight requests held at a time, as eight busy connections would: none goes to the slow one.
        var held: [Pick] = []
        var counts = [0, 0, 0]
        for _ in 0..<2000 {
            if held.count == 8 {
                let done = held.removeFirst()
                done.finish(.success(latency: Self.latency(done.index)))
            }
            let pick = try picker.pick()
            counts[pick.index] += 1
            held.append(pick)
            clock.advance(by: .microseconds(600))
        }
        held.forEach { $0.finish(.success(latency: Self.latency($0.index))) }
        #expect(counts[2] == 0, "the slow endpoint got \(counts[2]) of 2000: \(counts)")
        #expect(abs(counts[0] - counts[1]) < 200, "the fast ones share: \(counts)")
        // 50 ms decays to within a quarter of 5 ms after about 21 s without an answer from it.
        clock.advance(by: .seconds(25))
        let tried = try (0..<50).contains { _ in
            let pick = try picker.pick()
            defer { pick.finish(.success(latency: .milliseconds(5))) }
            return pick.index == 2
        }
        #expect(tried)
    }

    @Test("a slow endpoint whose estimate has decayed gets one request, and no second until that one answers")
    func oneProbeAtATime() throws {
        let (clock, picker) = try balancer(.hotCold(), seed: 11)
        try learn(picker, clock)
        // Left alone for 3 s (the default decay is 1 s), 50 ms has decayed below 5 ms.
        clock.advance(by: .seconds(3))
        // 32 requests held on the fast ones, as 32 busy connections would; the slow one's answer
        // does not come back within the loop's 20 ms.
        var held: [Pick] = []
        var probes: [Pick] = []
        var counts = [0, 0, 0]
        for _ in 0..<200 {
            if held.count == 32 {
                let done = held.removeFirst()
                done.finish(.success(latency: Self.latency(done.index)))
            }
            let pick = try picker.pick()
            counts[pick.index] += 1
            if pick.index == 2 { probes.append(pick) } else { held.append(pick) }
            clock.advance(by: .microseconds(100))
        }
        #expect(counts[2] == 1, "the slow endpoint, probed while its answer is out: \(counts)")
        (held + probes).forEach { $0.finish(.success(latency: Self.latency($0.index))) }
    }

    @Test("probes of an endpoint that stays slow back off: each comes about twice as long after the last, up to 16×")
    func probesBackOff() throws {
        let (clock, picker) = try balancer(.hotCold(), seed: 5)
        // Eight requests held at a time, as eight busy connections would, one every 5 ms, for
        // 200 s; every answer on time. When did the slow endpoint get a request?
        var held: [(pick: Pick, due: Duration)] = []
        var elapsed = Duration.zero
        var probes: [Duration] = []
        while elapsed < .seconds(200) {
            while let first = held.first, first.due <= elapsed {
                first.pick.finish(.success(latency: Self.latency(first.pick.index)))
                held.removeFirst()
            }
            if held.count < 8 {
                let pick = try picker.pick()
                if pick.index == 2 { probes.append(elapsed) }
                held.append((pick, elapsed + Self.latency(pick.index)))
                held.sort { $0.due < $1.due }
            }
            clock.advance(by: .milliseconds(5))
            elapsed += .milliseconds(5)
        }
        held.forEach { $0.pick.finish(.success(latency: Self.latency($0.pick.index))) }
        // The first request (before any answer) and then the probes.
        let gaps = zip(probes.dropFirst(), probes.dropFirst(2)).map { ($1 - $0) / .seconds(1) }
        #expect(probes.count >= 6 && probes.count <= 12, "probes at \(probes)")
        for (earlier, later) in zip(gaps, gaps.dropFirst()).prefix(3) {
            #expect(later > 1.6 * earlier, "gaps \(gaps) s")
        }
        // At the cap: 16 × 1 s × ln(50 / 7.25), about 31 s between probes, no more.
        #expect(gaps.last.map { $0 > 25 && $0 < 45 } == true, "gaps \(gaps) s")
    }
}
