import ShoalHashing

extension BalancerPicker {
    /// Plain rotation from this picker's position, skipping ineligible endpoints.
    func nextInTurn(_ context: inout PickContext) throws(BalancerError) -> Int {
        let count = context.count
        for step in 0..<count {
            let index = (cursor + step) % count
            if context.isEligible(index) {
                cursor = index + 1 == count ? 0 : index + 1
                return index
            }
        }
        throw BalancerError.nothingEligible
    }

    /// nginx's smooth weighted round robin over eligible endpoints: each adds its effective
    /// weight to a running total, the largest total wins and gives back the sum.
    func smoothWeighted(_ context: inout PickContext) throws(BalancerError) -> Int {
        // With equal weights the smooth sequence is plain rotation: take the O(1) path.
        if context.uniformWeights && !context.slowStartActive() {
            return try nextInTurn(&context)
        }
        var best = -1
        var total = 0.0
        for index in 0..<context.count where context.isEligible(index) {
            let weight = context.weights[index] * context.weightFactor(index)
            smoothWeights[index] += weight
            total += weight
            if best < 0 || smoothWeights[index] > smoothWeights[best] {
                best = index
            }
        }
        guard best >= 0 else { throw BalancerError.nothingEligible }
        smoothWeights[best] -= total
        return best
    }

    /// A uniformly random eligible endpoint.
    func uniform(_ context: inout PickContext) throws(BalancerError) -> Int {
        for _ in 0..<8 {
            let index = random.index(below: context.count)
            if context.isEligible(index) { return index }
        }
        let eligible = eligibleIndices(&context)
        guard !eligible.isEmpty else { throw BalancerError.nothingEligible }
        return eligible[random.index(below: eligible.count)]
    }

    /// A random eligible endpoint in proportion to weight × slow-start factor: the alias
    /// table samples by weight, and a ramping endpoint is kept with probability its factor.
    func weightedRandom(_ context: inout PickContext) throws(BalancerError) -> Int {
        for _ in 0..<16 {
            var index = random.index(below: context.count)
            if random.unit() >= context.aliasProbability[index] {
                index = context.alias[index]
            }
            guard context.isEligible(index) else { continue }
            let factor = context.weightFactor(index)
            if factor >= 1 || random.unit() < factor { return index }
        }
        let eligible = eligibleIndices(&context)
        guard !eligible.isEmpty else { throw BalancerError.nothingEligible }
        let weights = eligible.map { context.weights[$0] * context.weightFactor($0) }
        var target = random.unit() * weights.reduce(0, +)
        for (index, weight) in zip(eligible, weights) {
            target -= weight
            if target < 0 { return index }
        }
        return eligible[eligible.count - 1]
    }

    /// Power of two choices on requests in flight; weighted as Envoy's least request.
    func leastRequest(_ context: inout PickContext, bias: Double) throws(BalancerError) -> Int {
        let (a, b) = try twoCandidates(&context)
        if a == b { return a }
        let inFlightA = context.withStats(a) { $0.inFlight.load(ordering: .relaxed) }
        let inFlightB = context.withStats(b) { $0.inFlight.load(ordering: .relaxed) }
        if context.uniformWeights && !context.slowStartActive() {
            return inFlightB < inFlightA ? b : a
        }
        func score(_ index: Int, _ inFlight: Int) -> Double {
            let weight = context.weights[index] * context.weightFactor(index)
            let load = Double(inFlight + 1)
            return weight / (bias == 1 ? load : bias == 0 ? 1 : power(load, bias))
        }
        return score(b, inFlightB) > score(a, inFlightA) ? b : a
    }

    /// Power of two choices on Peak EWMA cost × (in flight + 1) ÷ weight; lower wins.
    func peakEWMA(_ context: inout PickContext) throws(BalancerError) -> Int {
        let (a, b) = try twoCandidates(&context)
        if a == b { return a }
        let now = context.now()
        let decay = context.decayNanoseconds
        func cost(_ index: Int) -> Double {
            let (latency, inFlight) = context.withStats(index) {
                ($0.latencyCost(at: now, decayNanoseconds: decay), Double($0.inFlight.load(ordering: .relaxed)))
            }
            // No observation yet but requests in flight: unknown, so expensive (Finagle's penalty).
            let raw = latency == 0 && inFlight > 0 ? 1e18 + inFlight : latency * (inFlight + 1)
            if context.uniformWeights && context.slowStart == nil { return raw }
            return raw / (context.weights[index] * context.weightFactor(index))
        }
        return cost(b) < cost(a) ? b : a
    }

    /// The key's consistent-hash owner if eligible (and within the load bound), else the next
    /// eligible endpoint in the key's replica order.
    func sticky(
        _ context: inout PickContext, key: UnsafeRawBufferPointer
    ) throws(BalancerError) -> (Int, BoundedLoadPlacement.Assignment?) {
        let (placement, bounded) = context.unmanagedSnapshot.withInstance { ($0.placement, $0.bounded) }
        guard let placement else { throw BalancerError.nothingEligible }
        if let bounded {
            let assignment = bounded.acquire(hash: XXH64.hash(key))
            if context.isEligible(assignment.index) { return (assignment.index, assignment) }
            bounded.release(assignment)
        } else {
            let owner = placement.index(forKeyBytes: key)
            if context.isEligible(owner) { return (owner, nil) }
        }
        for index in placement.indices(forKeyBytes: key, count: context.count) where context.isEligible(index) {
            return (index, nil)
        }
        throw BalancerError.nothingEligible
    }

    /// Two distinct eligible endpoints chosen at random (the same one twice when only one is
    /// eligible).
    @inline(__always)
    func twoCandidates(_ context: inout PickContext) throws(BalancerError) -> (Int, Int) {
        let count = context.count
        if count == 1 {
            guard context.isEligible(0) else { throw BalancerError.nothingEligible }
            return (0, 0)
        }
        var first = -1
        for _ in 0..<8 {
            let index = random.index(below: count)
            if context.isEligible(index) {
                first = index
                break
            }
        }
        if first >= 0 {
            for _ in 0..<8 {
                let index = random.index(below: count)
                if index != first && context.isEligible(index) { return (first, index) }
            }
        }
        let eligible = eligibleIndices(&context)
        switch eligible.count {
        case 0: throw BalancerError.nothingEligible
        case 1: return (eligible[0], eligible[0])
        default:
            let a = random.index(below: eligible.count)
            var b = random.index(below: eligible.count - 1)
            if b >= a { b += 1 }
            return (eligible[a], eligible[b])
        }
    }

    /// Every eligible index: the slow path when random sampling keeps missing.
    func eligibleIndices(_ context: inout PickContext) -> [Int] {
        (0..<context.count).filter { context.isEligible($0) }
    }
}
