/// What ``BalancingStrategy/hotCold(decay:)`` reads of an endpoint, and its probe backoff.
extension EndpointStats {
    /// The endpoint's latency for the hot-cold rule at `now` and its last estimate, both in
    /// nanoseconds, and its requests in flight.
    ///
    /// The estimate decays only while the endpoint is idle, with `decayNanoseconds` slowed by
    /// the probe backoff. Once a request is out to it, the last estimate stands until an answer
    /// replaces it: otherwise a slow endpoint whose estimate has just decayed would look fast,
    /// and take requests, for as long as its first answer takes to come back.
    @inline(__always)
    func hotColdView(at now: Int64, decayNanoseconds: Double) -> (latency: Double, last: Double, inFlight: Double) {
        let inFlight = Double(self.inFlight.load(ordering: .relaxed))
        let last = lastEstimate
        guard inFlight == 0 else { return (last, last, inFlight) }
        let backoff = Double(1 << probeBackoff.load(ordering: .relaxed))
        return (latencyCost(at: now, decayNanoseconds: decayNanoseconds * backoff), last, inFlight)
    }

    /// Records that hot-cold picked the endpoint: one more probe in a row (up to
    /// ``HotColdRule/maximumProbeBackoff``) when it won only because its estimate had decayed,
    /// else none. Writes only when the count changes, so the usual pick leaves the line alone.
    @inline(__always)
    func recordHotColdPick(probe: Bool) {
        let backoff = probeBackoff.load(ordering: .relaxed)
        if probe {
            probeBackoff.store(min(backoff + 1, HotColdRule.maximumProbeBackoff), ordering: .relaxed)
        } else if backoff != 0 {
            probeBackoff.store(0, ordering: .relaxed)
        }
    }
}
