import ShoalCore
import Synchronization

/// The state a balancer shares with its snapshots and picks: settings, the clock, and the
/// counters that outlier detection, panic mode and slow start read.
final class BalancerCore: Sendable {
    let strategy: BalancingStrategy
    let configuration: BalancerConfiguration
    let clock: any MonotonicClock
    /// τ of the Peak EWMA, in nanoseconds.
    let decayNanoseconds: Double
    /// Which clock `clock` is, so the built-in ones are read without a dynamic call.
    private let clockKind: ClockKind

    private enum ClockKind {
        case coarse, system, other
    }

    /// Endpoints ejected, as of the last ejection or sweep.
    let ejectedCount = Atomic<Int>(0)
    /// The earliest end of a current ejection; `Int64.max` when none.
    let nextReadmission = Atomic<Int64>(.max)
    /// The latest end of any slow-start ramp; `Int64.min` when none.
    let slowStartUntil = Atomic<Int64>(.min)
    /// Endpoints marked unhealthy by active checks, in the current set.
    let unhealthyCount = Atomic<Int>(0)
    /// Serialises ejection decisions and re-admission sweeps (rare events).
    let ejectionLock = Mutex<Void>(())

    init(strategy: BalancingStrategy, configuration: BalancerConfiguration, clock: any MonotonicClock) {
        self.strategy = strategy
        self.configuration = configuration
        self.clock = clock
        clockKind = clock is CoarseSystemClock ? .coarse : clock is SystemClock ? .system : .other
        switch strategy {
        case .peakEWMA(let decay), .hotCold(let decay):
            decayNanoseconds = max(1, Double(decay.totalNanoseconds))
        default:
            decayNanoseconds = 1e10
        }
    }

    /// The clock's current time in nanoseconds.
    @inline(__always)
    func now() -> Int64 {
        switch clockKind {
        case .coarse: CoarseSystemClock().now().nanoseconds
        case .system: SystemClock().now().nanoseconds
        case .other: clock.now().nanoseconds
        }
    }

    /// Whether fewer than the panic threshold's share of endpoints is healthy.
    @inline(__always)
    func isPanicking(endpointCount: Int) -> Bool {
        let threshold = configuration.panicThreshold
        guard threshold > 0, endpointCount > 0 else { return false }
        let sick = ejectedCount.load(ordering: .relaxed) + unhealthyCount.load(ordering: .relaxed)
        guard sick > 0 else { return false }
        return Double(endpointCount - sick) < threshold * Double(endpointCount)
    }

    /// Ejects `stats` if outlier detection allows: none ejected yet, or the ejected share
    /// stays within the maximum. The n-th ejection in a row lasts n × the base time, capped.
    func eject(_ stats: EndpointStats, in snapshot: EndpointSnapshot, at now: Int64) {
        guard let detection = configuration.outlierDetection else { return }
        ejectionLock.withLock { _ in
            guard !stats.isEjected(at: now) else { return }
            let ejected = snapshot.stats.reduce(0) { $0 + ($1.isEjected(at: now) ? 1 : 0) }
            let allowed =
                ejected == 0 || Double(ejected + 1) <= detection.maxEjectedFraction * Double(snapshot.count)
            guard allowed else { return }
            let lastEnd = stats.ejectedUntil.load(ordering: .relaxed)
            var times = stats.ejectionCount.load(ordering: .relaxed)
            if lastEnd != .min && now &- lastEnd >= detection.maxEjectionTime.totalNanoseconds {
                times = 0  // healthy for a long time since the last ejection: start again
            }
            times += 1
            let until = (MonotonicInstant(nanoseconds: now) + detection.ejectionTime(forCount: times)).nanoseconds
            stats.ejectionCount.store(times, ordering: .relaxed)
            stats.ejectedUntil.store(until, ordering: .relaxed)
            stats.consecutiveFailures.store(0, ordering: .relaxed)
            ejectedCount.store(ejected + 1, ordering: .relaxed)
            nextReadmission.store(min(nextReadmission.load(ordering: .relaxed), until), ordering: .relaxed)
            if let slowStart = configuration.slowStart {
                let rampEnd = (MonotonicInstant(nanoseconds: until) + slowStart.window).nanoseconds
                slowStartUntil.store(max(slowStartUntil.load(ordering: .relaxed), rampEnd), ordering: .relaxed)
            }
        }
    }

    /// Recounts ejections after some have expired, so panic mode and the ejection cap see
    /// re-admitted endpoints.
    func sweep(_ snapshot: EndpointSnapshot, at now: Int64) {
        ejectionLock.withLock { _ in
            var ejected = 0
            var next = Int64.max
            for stats in snapshot.stats {
                let until = stats.ejectedUntil.load(ordering: .relaxed)
                if until > now {
                    ejected += 1
                    next = min(next, until)
                }
            }
            ejectedCount.store(ejected, ordering: .relaxed)
            nextReadmission.store(next, ordering: .relaxed)
        }
    }
}
