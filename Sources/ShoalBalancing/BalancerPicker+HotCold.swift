/// The hot-cold strategy's pick: the candidates, what the balancer knows of each, and the
/// probe backoff.
extension BalancerPicker {
    /// ``HotColdRule`` among every eligible endpoint when there are four or fewer, else among
    /// four sampled at random.
    ///
    /// A pick that goes to an idle endpoint only because its estimate has decayed (its last
    /// estimate is not near-best) is a probe. Each probe in a row doubles the time constant of
    /// that endpoint's decay, up to 16×, so an endpoint that stays slow is probed after about
    /// 2 s, then 4, 8, 16 and at most every 31 s or so (with the default 1 s decay and an
    /// endpoint 10× slower); a pick made on its merits starts again from 1×.
    func hotCold(_ context: inout PickContext) throws(BalancerError) -> Int {
        var candidates = InlineArray<4, Int>(repeating: 0)
        var found = 0
        let count = context.count
        if count <= 4 {
            for index in 0..<count where context.isEligible(index) {
                candidates[found] = index
                found += 1
            }
        } else {
            for _ in 0..<16 where found < 4 {
                let index = random.index(below: count)
                if context.isEligible(index) {
                    candidates[found] = index
                    found += 1
                }
            }
            if found == 0 {
                let eligible = eligibleIndices(&context)
                guard !eligible.isEmpty else { throw BalancerError.nothingEligible }
                return eligible[random.index(below: eligible.count)]
            }
        }
        guard found > 0 else { throw BalancerError.nothingEligible }
        if found == 1 { return candidates[0] }
        let now = context.now()
        let decay = context.decayNanoseconds
        var loads = InlineArray<4, Double>(repeating: 0)
        var latencies = InlineArray<4, Double>(repeating: 0)
        var lastEstimates = InlineArray<4, Double>(repeating: 0)
        let weighted = !(context.uniformWeights && context.slowStart == nil)
        for slot in 0..<found {
            let index = candidates[slot]
            let (latency, last, inFlight) = context.withStats(index) {
                $0.hotColdView(at: now, decayNanoseconds: decay)
            }
            loads[slot] = weighted ? inFlight / (context.weights[index] * context.weightFactor(index)) : inFlight
            // Requests out and no answer yet: unknown, so slowest (it may hang).
            latencies[slot] = latency == 0 && inFlight > 0 ? .infinity : latency
            lastEstimates[slot] = last
        }
        let choice = HotColdRule.choose(
            count: found, first: random.index(below: found), slack: 1_000_000, load: { loads[$0] },
            latency: { latencies[$0] })
        let winner = candidates[choice.index]
        let probe = lastEstimates[choice.index] > choice.nearBest
        context.withStats(winner) { $0.recordHotColdPick(probe: probe) }
        return winner
    }
}
