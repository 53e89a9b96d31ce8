import ShoalBalancing
import Testing

@testable import shoal

@Suite("shoal bench balance in a closed loop, as wrk drives a proxy")
struct ClosedLoopSimulationTests {
    /// One strategy in one scenario on `model`'s backends, `connections` clients for `seconds`.
    private func run(
        _ scenario: String, _ model: BackendModel, connections: Int, overhead: Double = 0, seconds: Double = 2,
        strategy: BalancingStrategy = .roundRobin
    ) throws -> StrategyResult {
        let chosen = try #require(Scenario.builtIn(model).first { $0.name == scenario })
        let settings = SimulationSettings(duration: seconds, connections: connections, overhead: overhead)
        let simulation = BalanceSimulation(scenario: chosen, settings: settings)
        return try simulation.run(strategy, arrivals: simulation.arrivals())
    }

    @Test(
        "wrk's correction: a sample at twice the interval or more begets samples an interval apart, above one interval")
    func wrkCorrection() {
        #expect(WrkCorrection.corrected([5, 5, 50], intervalMilliseconds: 20) == [5, 5, 50, 30])
        #expect(WrkCorrection.corrected([100], intervalMilliseconds: 20) == [100, 80, 60, 40])
        #expect(WrkCorrection.corrected([39.9, 40], intervalMilliseconds: 20) == [39.9, 40])
        #expect(WrkCorrection.corrected([7], intervalMilliseconds: 0) == [7])
    }

    @Test("12 connections on 3 backends at 5 ms, 1 ms outside them: each request takes 6 ms, 2,000 a second")
    func littlesLaw() throws {
        let model = BackendModel(count: 3, median: 0.005, sigma: 0, concurrency: 100)
        let result = try run("healthy", model, connections: 12, overhead: 0.001)
        #expect(abs(result.p50 - 6) < 0.01 && abs(result.p99 - 6) < 0.01, "p50 \(result.p50), p99 \(result.p99)")
        #expect(abs(result.throughput - 2_000) < 20, "\(result.throughput) a second")
        #expect(result.successRate == 1)
    }

    @Test("one slot a backend: 12 connections queue, 600 answered a second, each after about 20 ms")
    func queueing() throws {
        let model = BackendModel(count: 3, median: 0.005, sigma: 0, concurrency: 1)
        let result = try run("healthy", model, connections: 12)
        #expect(abs(result.throughput - 600) < 10, "\(result.throughput) a second")
        #expect(abs(result.p50 - 20) < 0.5, "p50 \(result.p50) ms")
    }

    @Test("a backend's slot is free once it has served: the time outside it does not hold the slot")
    func overheadOutsideTheSlot() throws {
        // 2 backends with one slot, 5 ms each and 5 ms outside. Slots held 10 ms would cap
        // throughput at 200 a second; freed after 5 ms, 3 connections get close to their 300.
        let model = BackendModel(count: 2, median: 0.005, sigma: 0, concurrency: 1)
        let result = try run("healthy", model, connections: 3, overhead: 0.005)
        #expect(result.throughput > 250, "\(result.throughput) a second")
    }

    @Test("one backend 10× slower, 32 connections: round robin gives it a third, hot-cold almost nothing")
    func oneSlow() throws {
        let model = BackendModel(count: 3, median: 0.005, sigma: 0.05, concurrency: 100_000)
        let roundRobin = try run("one-slow", model, connections: 32, overhead: 0.0003)
        let hotCold = try run("one-slow", model, connections: 32, overhead: 0.0003, strategy: .hotCold())
        #expect(abs(roundRobin.shares[0] - 1.0 / 3) < 0.01, "\(roundRobin.shares)")
        #expect(hotCold.shares[0] < 0.005, "\(hotCold.shares)")
        #expect(hotCold.throughput > 1.5 * roundRobin.throughput)
    }
}
