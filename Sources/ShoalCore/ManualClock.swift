import Synchronization

/// A clock that moves only when told to: for tests, and for simulations in virtual time.
///
/// ```swift
/// let clock = ManualClock()
/// let balancer = try LoadBalancer(endpoints: endpoints, strategy: .peakEWMA(), clock: clock)
/// clock.advance(by: .seconds(30))   // an ejection expires without sleeping
/// ```
public final class ManualClock: MonotonicClock {
    private let nanoseconds: Atomic<Int64>

    /// A clock that starts at `start`.
    public init(start: MonotonicInstant = MonotonicInstant(nanoseconds: 0)) {
        nanoseconds = Atomic(start.nanoseconds)
    }

    public func now() -> MonotonicInstant {
        MonotonicInstant(nanoseconds: nanoseconds.load(ordering: .acquiring))
    }

    /// Moves the clock forward by `duration` (a negative duration is ignored).
    public func advance(by duration: Duration) {
        let step = max(0, duration.totalNanoseconds)
        nanoseconds.add(step, ordering: .releasing)
    }

    /// Moves the clock to `instant`, if that is not earlier than now.
    public func advance(to instant: MonotonicInstant) {
        var current = nanoseconds.load(ordering: .relaxed)
        while current < instant.nanoseconds {
            let (exchanged, original) = nanoseconds.compareExchange(
                expected: current, desired: instant.nanoseconds, ordering: .acquiringAndReleasing)
            if exchanged { return }
            current = original
        }
    }
}
