import ShoalCore

/// What one pick needs to judge endpoints: the time (read at most once, and only when
/// something time-dependent is in play), panic mode and slow start.
struct PickContext {
    let core: BalancerCore
    let snapshot: EndpointSnapshot
    private var cachedNow: Int64?
    let panicking: Bool
    private let breakers: Bool

    init(core: BalancerCore, snapshot: EndpointSnapshot) {
        self.core = core
        self.snapshot = snapshot
        panicking = core.isPanicking(endpointCount: snapshot.count)
        breakers = core.configuration.circuitBreaker != nil
    }

    /// The current time in nanoseconds, read once per pick.
    @inline(__always)
    mutating func now() -> Int64 {
        if let cachedNow { return cachedNow }
        let now = core.clock.now().nanoseconds
        cachedNow = now
        return now
    }

    /// Re-admits endpoints whose ejection has ended (updating the counts panic mode reads).
    @inline(__always)
    mutating func readmitIfDue() {
        guard core.ejectedCount.load(ordering: .relaxed) > 0 else { return }
        let now = now()
        if now >= core.nextReadmission.load(ordering: .relaxed) {
            core.sweep(snapshot, at: now)
        }
    }

    /// Whether endpoint `index` may take a request: healthy, not ejected, its breaker not
    /// open. In panic mode only an open breaker excludes it.
    @inline(__always)
    mutating func isEligible(_ index: Int) -> Bool {
        let stats = snapshot.stats[index]
        if !panicking {
            if !stats.healthy.load(ordering: .relaxed) { return false }
            if stats.ejectedUntil.load(ordering: .relaxed) != .min && stats.isEjected(at: now()) { return false }
        }
        if breakers, let breaker = stats.breaker, !breaker.allowsRequest() { return false }
        return true
    }

    /// The slow-start factor of endpoint `index` (1 outside a ramp).
    @inline(__always)
    mutating func weightFactor(_ index: Int) -> Double {
        guard let slowStart = core.configuration.slowStart,
            core.slowStartUntil.load(ordering: .relaxed) > Int64.min
        else { return 1 }
        let now = now()
        guard core.slowStartUntil.load(ordering: .relaxed) > now else { return 1 }
        let stats = snapshot.stats[index]
        let ejectionEnd = stats.ejectedUntil.load(ordering: .relaxed)
        let start = max(stats.addedAt, ejectionEnd <= now ? ejectionEnd : .min)
        guard start != .min else { return 1 }
        return slowStart.factor(elapsed: .nanoseconds(now &- start))
    }

    /// Whether any endpoint may be ramping.
    @inline(__always)
    mutating func slowStartActive() -> Bool {
        guard core.configuration.slowStart != nil else { return false }
        let until = core.slowStartUntil.load(ordering: .relaxed)
        return until > Int64.min && until > now()
    }
}
