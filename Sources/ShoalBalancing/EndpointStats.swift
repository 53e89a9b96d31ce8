import Synchronization

/// What the balancer knows about one endpoint, shared by every thread that picks it and
/// carried over when the endpoint set is replaced. Every field is an atomic; no lock.
///
/// The latency EWMA is two atomics (value and time) updated without a lock: when two threads
/// report on the same endpoint at the same instant, one observation may be lost, which a
/// moving average tolerates (Finagle makes the same trade).
final class EndpointStats: Sendable {
    /// The endpoint's address, the key that carries statistics across updates.
    let address: String
    /// When the endpoint joined (nanoseconds); `Int64.min` for the initial set, which does
    /// not slow-start.
    let addedAt: Int64
    /// The endpoint's circuit breaker, when breakers are configured.
    let breaker: CircuitBreaker?

    /// The end of the current or last ejection (nanoseconds); `Int64.min` if never ejected.
    /// Read on every pick, written only on ejection.
    let ejectedUntil = Atomic<Int64>(.min)
    /// Set by active health checks (or by discovery); unhealthy endpoints are not picked
    /// unless the balancer panics. Read on every pick, rarely written.
    let healthy = Atomic<Bool>(true)
    /// Ejections in a row.
    let ejectionCount = Atomic<Int>(0)

    // The fields below are written on every request. The padding on both sides keeps them on
    // cache lines of their own, away from the read-mostly fields above and from neighbouring
    // objects, so threads picking different endpoints do not slow each other down.
    private let paddingBefore = CacheLinePadding()

    /// Requests picked and not yet finished.
    let inFlight = Atomic<Int>(0)
    /// Peak EWMA of latency, in nanoseconds, as `Double` bits.
    let ewmaBits = Atomic<UInt64>(0)
    /// When the EWMA was last updated (nanoseconds).
    let ewmaStamp = Atomic<Int64>(0)
    /// Failures since the last success.
    let consecutiveFailures = Atomic<Int>(0)
    /// Hot-cold's probes of this endpoint in a row: its idle decay is 2^this slower.
    let probeBackoff = Atomic<Int>(0)

    private let paddingAfter = CacheLinePadding()

    init(address: String, addedAt: Int64, breaker: CircuitBreaker?) {
        self.address = address
        self.addedAt = addedAt
        self.breaker = breaker
    }

    /// Whether the endpoint is ejected at `now`.
    @inline(__always)
    func isEjected(at now: Int64) -> Bool {
        ejectedUntil.load(ordering: .relaxed) > now
    }

    /// The latency cost at `now`: the EWMA decayed towards zero for the time since it was
    /// last updated, so that an endpoint not heard from for a while is tried again.
    @inline(__always)
    func latencyCost(at now: Int64, decayNanoseconds: Double) -> Double {
        let value = Double(bitPattern: ewmaBits.load(ordering: .relaxed))
        guard value > 0 else { return 0 }
        let elapsed = Double(now &- ewmaStamp.load(ordering: .relaxed))
        return value * Self.decayWeight(elapsed: elapsed, decayNanoseconds: decayNanoseconds)
    }

    /// The latency estimate as of the last observation, without decay: what
    /// ``BalancingStrategy/hotCold(decay:)`` reads while the endpoint has requests out
    /// (``hotColdView(at:decayNanoseconds:)``).
    @inline(__always)
    var lastEstimate: Double {
        Double(bitPattern: ewmaBits.load(ordering: .relaxed))
    }

    /// Records a latency. With `w = e^(−Δt/τ)` for the time Δt since the last update, the
    /// estimate `v` becomes the latency at once if that is above the decayed estimate `v·w`
    /// (the peak), and `v·w + latency·(1 − w)` otherwise, as in Finagle's and tower's Peak
    /// EWMA. Failures can raise the estimate but never lower it, so an endpoint that fails
    /// fast does not look fast.
    func observe(latencyNanoseconds latency: Double, failed: Bool, at now: Int64, decayNanoseconds: Double) {
        let value = Double(bitPattern: ewmaBits.load(ordering: .relaxed))
        let elapsed = Double(now &- ewmaStamp.load(ordering: .relaxed))
        let keep = value > 0 ? Self.decayWeight(elapsed: elapsed, decayNanoseconds: decayNanoseconds) : 0
        let decayed = value * keep
        let updated: Double
        if latency > decayed || failed {
            updated = max(decayed, latency)
        } else {
            updated = decayed + latency * (1 - keep)
        }
        ewmaBits.store(updated.bitPattern, ordering: .relaxed)
        ewmaStamp.store(now, ordering: .relaxed)
    }

    /// `e^(−elapsed/τ)`, with a cubic series when the exponent is small (the common case at
    /// high request rates), which is exact to 10⁻⁷ there and avoids calling `exp`.
    @inline(__always)
    static func decayWeight(elapsed: Double, decayNanoseconds: Double) -> Double {
        guard elapsed > 0 else { return 1 }
        let x = elapsed / decayNanoseconds
        if x < 0.01 {
            return 1 - x * (1 - x * (0.5 - x / 6))
        }
        return exponential(-x)
    }
}

/// 64 bytes that keep the fields on either side on different cache lines.
struct CacheLinePadding: Sendable {
    private let words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
}
