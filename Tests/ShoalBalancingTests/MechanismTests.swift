import Foundation
import ShoalBalancing
import ShoalCore
import Testing

/// Calls the mutating check outside `#expect`, which cannot take a mutating call.
private func allows(_ state: inout CircuitBreakerState, at now: Int64) -> Bool {
    state.allowsRequest(at: now)
}

@Suite("Circuit breaker state and retry budget")
struct MechanismTests {
    @Test("closed → open at the failure rate → half-open after the open time → closed after probes")
    func breakerTransitions() {
        var state = CircuitBreakerState(
            configuration: .init(
                minimumRequests: 4, failureRateThreshold: 0.5, openDuration: .seconds(1), halfOpenProbes: 2))
        let second: Int64 = 1_000_000_000
        state.record(success: true, at: 0)
        state.record(success: true, at: 0)
        state.record(success: false, at: 0)
        #expect(state.phase == .closed)
        state.record(success: false, at: 0)  // 2 of 4 failed
        #expect(state.phase == .open(until: second))
        #expect(!allows(&state, at: second - 1))
        #expect(allows(&state, at: second))
        #expect(state.phase == .halfOpen)
        #expect(allows(&state, at: second))
        #expect(!allows(&state, at: second))  // two probes at most
        state.record(success: true, at: second)
        state.record(success: true, at: second)
        #expect(state.phase == .closed)
    }

    @Test("a failed probe opens the breaker again")
    func failedProbe() {
        var state = CircuitBreakerState(configuration: .init(minimumRequests: 1, openDuration: .seconds(1)))
        state.record(success: false, at: 0)
        #expect(allows(&state, at: 1_000_000_000))
        state.record(success: false, at: 1_000_000_000)
        #expect(state.phase == .open(until: 2_000_000_000))
    }

    @Test("an abandoned probe frees its slot and neither closes nor opens the breaker")
    func abandonedProbe() {
        var state = CircuitBreakerState(
            configuration: .init(minimumRequests: 1, openDuration: .seconds(1), halfOpenProbes: 1))
        let second: Int64 = 1_000_000_000
        state.record(success: false, at: 0)
        let probe = state.permit(at: second)
        #expect(probe != nil)
        #expect(!allows(&state, at: second))  // the one slot is taken
        state.abandon(probe!)
        #expect(state.phase == .halfOpen)
        #expect(allows(&state, at: second))  // and free again
        state.record(success: true, at: second)
        #expect(state.phase == .closed)
        state.abandon(probe!)  // closed: nothing to give back, nothing counted
        #expect(state.phase == .closed)
    }

    @Test("permits: a request sent before the breaker opened neither frees nor fills a probe slot")
    func permitsOfOtherSpells() {
        var state = CircuitBreakerState(
            configuration: .init(minimumRequests: 1, openDuration: .seconds(1), halfOpenProbes: 1))
        let second: Int64 = 1_000_000_000
        let early = state.permit(at: 0)  // allowed while closed
        #expect(early == .unreserved)
        state.record(success: false, at: 0)  // another request's failure opens it
        let probe = state.permit(at: second)
        #expect(probe?.probeSpell != nil)
        #expect(state.permit(at: second) == nil)  // the one slot is taken
        // The early request is cancelled, then another early one answers: neither is the probe.
        state.abandon(.unreserved)
        #expect(state.permit(at: second) == nil)
        state.record(success: true, at: second, permit: .unreserved)
        #expect(state.phase == .halfOpen)
        #expect(state.permit(at: second) == nil)
        // The probe fails: open again. Its spell's late answers count for nothing in the next.
        state.record(success: false, at: second, permit: probe!)
        #expect(state.phase == .open(until: 2 * second))
        let next = state.permit(at: 2 * second)
        #expect(next != nil && next != probe)
        state.abandon(probe!)
        #expect(state.permit(at: 2 * second) == nil)  // the new spell's slot is still held
        state.record(success: true, at: 2 * second, permit: next!)
        #expect(state.phase == .closed)
        _ = early
    }

    @Test("old outcomes leave the window")
    func window() {
        var state = CircuitBreakerState(configuration: .init(window: .seconds(10), minimumRequests: 4))
        for _ in 0..<3 { state.record(success: false, at: 0) }
        state.record(success: false, at: 11_000_000_000)  // the first three have expired
        #expect(state.phase == .closed)
    }

    @Test("retries: the reserve, 20 % of deposits, and expiry after the TTL")
    func retryBudget() {
        let clock = ManualClock()
        let budget = RetryBudget(
            configuration: .init(ttl: .seconds(10), minimumRetriesPerSecond: 1, percentCanRetry: 0.2), clock: clock)
        #expect(budget.balance == 10)
        for _ in 0..<10 { #expect(budget.tryWithdraw()) }
        #expect(!budget.tryWithdraw())
        for _ in 0..<50 { budget.deposit() }
        #expect(budget.balance == 10)
        for _ in 0..<10 { #expect(budget.tryWithdraw()) }
        #expect(!budget.tryWithdraw())
        clock.advance(by: .seconds(11))
        #expect(budget.balance == 10)  // deposits and withdrawals have both expired
    }

    @Test("slow start's factor follows Envoy's formula")
    func slowStartFactor() {
        let ramp = BalancerConfiguration.SlowStart(window: .seconds(100), aggression: 2, minimumWeightFraction: 0.1)
        #expect(ramp.factor(elapsed: .zero) == 0.1)
        #expect(abs(ramp.factor(elapsed: .seconds(25)) - 0.5) < 1e-12)
        #expect(ramp.factor(elapsed: .seconds(100)) == 1)
    }
}

@Suite("Peak EWMA estimate")
struct PeakEWMAEstimateTests {
    @Test("a peak replaces the estimate; a lower latency blends in with weight 1 − e^(−Δt/τ)")
    func estimate() throws {
        let clock = ManualClock()
        let balancer = try LoadBalancer(endpoints: endpoints(1), strategy: .peakEWMA(decay: .seconds(10)), clock: clock)
        let picker = balancer.makePicker(seed: 1)
        try picker.pick().finish(.success(latency: .milliseconds(100)))
        #expect(balancer.report[0].latencyEWMA == .milliseconds(100))
        clock.advance(by: .seconds(10))  // w = e^-1; the peak was stamped 100 ms after the pick
        let pick = try picker.pick()
        pick.finish(.success(latency: .milliseconds(10)))
        // The report is stamped at pick time + latency: Δt = 10 s − 100 ms + 10 ms = 9.91 s.
        let w = exp(-9.91 / 10)
        let expected = 100.0 * w + 10 * (1 - w)
        let reported = balancer.report[0].latencyEWMA / .milliseconds(1)
        #expect(abs(reported - expected) < 0.01, "\(reported) ms, expected \(expected) ms")
    }
}
