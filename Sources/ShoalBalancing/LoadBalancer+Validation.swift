import ShoalCore

extension LoadBalancer {
    /// Every weight finite and > 0, every address once.
    static func validate(_ endpoints: [Endpoint]) throws(BalancerError) {
        try validate(endpoints, addresses: endpoints.map(\.address), distinct: false)
    }

    /// The same, with `addresses` the endpoints' addresses, worked out once; `distinct` when
    /// they are already known to have no duplicate (each the same as in a validated set).
    static func validate(_ endpoints: [Endpoint], addresses: [String], distinct: Bool) throws(BalancerError) {
        for endpoint in endpoints where !(endpoint.weight.isFinite && endpoint.weight > 0) {
            throw BalancerError(
                .invalidWeight,
                "endpoint \(endpoint.address) has weight \(endpoint.weight): weights must be finite and > 0")
        }
        guard !distinct else { return }
        var seen = Set<String>(minimumCapacity: addresses.count)
        for address in addresses where !seen.insert(address).inserted {
            throw BalancerError(.duplicateEndpoint, "endpoint \(address) is given more than once")
        }
    }

    /// Strategy parameters and health settings within their ranges.
    static func validate(strategy: BalancingStrategy, configuration: BalancerConfiguration) throws(BalancerError) {
        func fail(_ message: String) -> BalancerError { BalancerError(.invalidConfiguration, message) }
        switch strategy {
        case .leastRequest(let bias):
            guard bias.isFinite, bias >= 0 else { throw fail("activeRequestBias must be finite and ≥ 0, not \(bias)") }
        case .peakEWMA(let decay):
            guard decay > .zero else { throw fail("peakEWMA decay must be positive, not \(decay)") }
        case .hotCold(let decay):
            guard decay > .zero else { throw fail("hotCold decay must be positive, not \(decay)") }
        case .ringHash(let bound?), .maglev(let bound?):
            guard bound.isFinite, bound >= 1 else {
                throw fail("boundedLoad must be a finite number ≥ 1, not \(bound)")
            }
        default:
            break
        }
        guard configuration.panicThreshold.isFinite, (0...1).contains(configuration.panicThreshold) else {
            throw fail("panicThreshold must be in 0...1, not \(configuration.panicThreshold)")
        }
        if let detection = configuration.outlierDetection {
            guard detection.consecutiveFailures >= 1, detection.baseEjectionTime > .zero,
                detection.maxEjectionTime >= detection.baseEjectionTime,
                detection.maxEjectedFraction.isFinite, (0...1).contains(detection.maxEjectedFraction)
            else {
                throw fail(
                    "outlier detection needs consecutiveFailures ≥ 1, 0 < baseEjectionTime ≤ maxEjectionTime "
                        + "and maxEjectedFraction in 0...1, got \(detection)")
            }
        }
        if let slowStart = configuration.slowStart {
            guard slowStart.window > .zero, slowStart.aggression.isFinite, slowStart.aggression > 0,
                (0...1).contains(slowStart.minimumWeightFraction)
            else {
                throw fail(
                    "slow start needs window > 0, aggression > 0 and minimumWeightFraction in 0...1, got \(slowStart)")
            }
        }
        try configuration.circuitBreaker?.validate()
    }
}
