/// The choice ``BalancingStrategy/hotCold(decay:)`` makes among a few candidates, apart from
/// how they were sampled: Prequal's hot-cold lexicographic rule ("Load is not what you should
/// balance", NSDI 2024) on what one balancer sees of each endpoint.
///
/// 1. A candidate is **hot** when its requests in flight (per unit of weight) reach twice the
///    candidates' mean, plus one: it holds more than its share, and more work sent to it
///    would queue if it queues at all.
/// 2. Among the **cold** ones, those whose latency is within a quarter of the lowest, plus a
///    millisecond, are **near-best**, and the one of them with the fewest requests in flight
///    wins. (The millisecond keeps instances a few hundred microseconds apart, which is
///    jitter on a network, sharing requests as least-request would, rather than the one that
///    happened to answer fastest taking every request until it holds twice its share.) An instance
///    10× slower is never near-best while a fast one is cold, however many requests the fast
///    one holds below the hot mark, which is where Peak EWMA's latency × (in flight + 1)
///    sends traffic to the slow one.
/// 3. When every candidate is hot, the fewest requests in flight win.
///
/// Latency is the endpoint's Peak EWMA, decayed towards zero while the endpoint is idle, so a
/// slow endpoint left alone looks near-best again after a while (about 2 s for a 10× slower
/// one with the default 1 s decay) and gets one request that measures it again, a probe.
/// While that request is out the estimate does not decay, so the endpoint gets no second one
/// before the first answers, and each probe in a row makes the next decay twice as slow, up
/// to ``maximumProbeBackoff`` doublings. An endpoint with requests in flight and no
/// observation yet is treated as slowest (it may be hanging); one with neither is treated as
/// fastest, so a new endpoint is tried at once.
enum HotColdRule {
    /// Hot at this multiple of the mean load (plus one request).
    static let hotFactor = 2.0
    /// Near-best within this multiple of the lowest latency.
    static let nearBestFactor = 1.25
    /// Probes in a row that double an endpoint's decay: at most 2⁴ = 16×.
    static let maximumProbeBackoff = 4

    /// The winner among candidates `0..<count`, starting ties at `first` (a random rotation,
    /// so equal candidates share the picks), and the highest latency that was near-best
    /// (`.infinity` when every candidate was hot). `load(i)` is candidate i's requests in
    /// flight per unit of weight; `latency(i)` its latency estimate (`.infinity` for unknown),
    /// in the unit of `slack`, the absolute part of near-best (a millisecond, for the
    /// balancer).
    @inline(__always)
    static func choose(
        count: Int, first: Int, slack: Double, load: (Int) -> Double, latency: (Int) -> Double
    ) -> (index: Int, nearBest: Double) {
        precondition(count > 0, "choose among at least one candidate")
        if count == 1 { return (0, .infinity) }
        var total = 0.0
        for candidate in 0..<count { total += load(candidate) }
        let hotAt = hotFactor * (total + 1) / Double(count)
        var best = Double.infinity
        var anyCold = false
        for candidate in 0..<count where load(candidate) < hotAt {
            anyCold = true
            best = min(best, latency(candidate))
        }
        let nearBest = anyCold ? best * nearBestFactor + slack : .infinity
        var winner = -1
        var winnerLoad = Double.infinity
        for step in 0..<count {
            let candidate = (first + step) % count
            let candidateLoad = load(candidate)
            let eligible = anyCold ? candidateLoad < hotAt && latency(candidate) <= nearBest : true
            if eligible && candidateLoad < winnerLoad {
                winner = candidate
                winnerLoad = candidateLoad
            }
        }
        return (winner, nearBest)
    }
}
