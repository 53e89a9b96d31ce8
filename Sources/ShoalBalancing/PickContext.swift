import ShoalCore

/// Everything one pick reads, copied out of the snapshot and the core as plain values when
/// the pick starts: counts and flags, and buffer pointers to the statistics, weights and alias
/// table. The picker's handle keeps the snapshot (and through it all of these) alive for the
/// pick, so nothing here retains, and two threads picking at once never contend on a shared
/// reference count.
struct PickContext {
    private let unmanagedCore: Unmanaged<BalancerCore>
    let unmanagedSnapshot: Unmanaged<EndpointSnapshot>
    let count: Int
    let stats: UnsafeBufferPointer<Unmanaged<EndpointStats>>
    let weights: UnsafeBufferPointer<Double>
    let aliasProbability: UnsafeBufferPointer<Double>
    let alias: UnsafeBufferPointer<Int>
    let uniformWeights: Bool
    let strategy: BalancingStrategy
    let decayNanoseconds: Double
    let slowStart: BalancerConfiguration.SlowStart?
    let panicking: Bool
    let breakers: Bool
    /// Endpoints this pick must not choose (those a retry already tried).
    var excluded: [Int] = []
    private var cachedNow: Int64?

    @inline(__always)
    init(snapshot: Unmanaged<EndpointSnapshot>) {
        unmanagedSnapshot = snapshot
        (unmanagedCore, count, stats, weights, aliasProbability, alias, uniformWeights) = snapshot.withInstance {
            (
                $0.unmanagedCore, $0.count, $0.statsBuffer, $0.weightsBuffer, $0.aliasProbabilityBuffer, $0.aliasBuffer,
                $0.uniformWeights
            )
        }
        let count = count
        (strategy, decayNanoseconds, slowStart, panicking, breakers) = unmanagedCore.withInstance {
            (
                $0.strategy, $0.decayNanoseconds, $0.configuration.slowStart, $0.isPanicking(endpointCount: count),
                $0.configuration.circuitBreaker != nil
            )
        }
    }

    /// Calls `body` with endpoint `index`'s statistics, without retaining them.
    @inline(__always)
    func withStats<R>(_ index: Int, _ body: (EndpointStats) -> R) -> R {
        stats[index].withInstance(body)
    }

    /// Calls `body` with the balancer's shared state, without retaining it.
    @inline(__always)
    func withCore<R>(_ body: (BalancerCore) -> R) -> R {
        unmanagedCore.withInstance(body)
    }

    /// The current time in nanoseconds, read once per pick.
    @inline(__always)
    mutating func now() -> Int64 {
        if let cachedNow { return cachedNow }
        let now = withCore { $0.now() }
        cachedNow = now
        return now
    }

    /// Re-admits endpoints whose ejection has ended (updating the counts panic mode reads).
    @inline(__always)
    mutating func readmitIfDue() {
        guard withCore({ $0.ejectedCount.load(ordering: .relaxed) }) > 0 else { return }
        let now = now()
        let snapshot = unmanagedSnapshot
        withCore { core in
            if now >= core.nextReadmission.load(ordering: .relaxed) {
                snapshot.withInstance { core.sweep($0, at: now) }
            }
        }
    }

    /// Whether endpoint `index` may take a request: not excluded, healthy, not ejected, its
    /// breaker not open. In panic mode only an open breaker (or exclusion) excludes it.
    @inline(__always)
    mutating func isEligible(_ index: Int) -> Bool {
        if !excluded.isEmpty && excluded.contains(index) { return false }
        let (healthy, ejectedUntil) = withStats(index) {
            ($0.healthy.load(ordering: .relaxed), $0.ejectedUntil.load(ordering: .relaxed))
        }
        if !panicking {
            if !healthy { return false }
            if ejectedUntil != .min && ejectedUntil > now() { return false }
        }
        if breakers {
            // Judging candidates reserves nothing; the chosen one reserves in `pick`.
            let permitted = withStats(index) { $0.breaker?.permitsRequest() ?? true }
            if !permitted { return false }
        }
        return true
    }

    /// The slow-start factor of endpoint `index` (1 outside a ramp).
    @inline(__always)
    mutating func weightFactor(_ index: Int) -> Double {
        guard let slowStart, slowStartActive() else { return 1 }
        let now = now()
        let (addedAt, ejectionEnd) = withStats(index) {
            ($0.addedAt, $0.ejectedUntil.load(ordering: .relaxed))
        }
        let start = max(addedAt, ejectionEnd <= now ? ejectionEnd : .min)
        guard start != .min else { return 1 }
        return slowStart.factor(elapsed: .nanoseconds(now &- start))
    }

    /// Whether any endpoint may be ramping.
    @inline(__always)
    mutating func slowStartActive() -> Bool {
        guard slowStart != nil else { return false }
        let until = withCore { $0.slowStartUntil.load(ordering: .relaxed) }
        return until > Int64.min && until > now()
    }
}
