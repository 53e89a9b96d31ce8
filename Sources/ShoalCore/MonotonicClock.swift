/// A point on a monotonic time line, in nanoseconds from an arbitrary origin.
///
/// Shoal's timing logic (TTLs, ejections, decay, slow start) reads time only through a
/// ``MonotonicClock``, so tests and simulations can replace the system clock with a
/// ``ManualClock`` and never sleep.
public struct MonotonicInstant: Hashable, Comparable, Sendable {
    /// Nanoseconds since the clock's origin.
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) {
        self.nanoseconds = nanoseconds
    }

    public static func < (lhs: MonotonicInstant, rhs: MonotonicInstant) -> Bool {
        lhs.nanoseconds < rhs.nanoseconds
    }

    /// The instant `duration` later (saturating at the ends of the time line).
    public static func + (instant: MonotonicInstant, duration: Duration) -> MonotonicInstant {
        let (sum, overflow) = instant.nanoseconds.addingReportingOverflow(duration.totalNanoseconds)
        return MonotonicInstant(nanoseconds: overflow ? (duration > .zero ? .max : .min) : sum)
    }

    /// The time from `rhs` to `lhs`.
    public static func - (lhs: MonotonicInstant, rhs: MonotonicInstant) -> Duration {
        .nanoseconds(lhs.nanoseconds &- rhs.nanoseconds)
    }
}

/// A source of monotonic time.
///
/// ```swift
/// let clock: any MonotonicClock = SystemClock()
/// let deadline = clock.now() + .seconds(10)
/// ```
public protocol MonotonicClock: Sendable {
    /// The current instant. Never goes backwards.
    func now() -> MonotonicInstant

    /// Suspends until `deadline` has passed on this clock.
    ///
    /// - Throws: `CancellationError` when the task is cancelled first.
    func sleep(until deadline: MonotonicInstant) async throws
}

extension MonotonicClock {
    /// Sleeps for the time left until `deadline` on the system's continuous clock; clocks that
    /// track real time use this.
    public func sleep(until deadline: MonotonicInstant) async throws {
        let remaining = deadline - now()
        if remaining > .zero {
            try await Task.sleep(for: remaining)
        } else {
            try Task.checkCancellation()
        }
    }
}

extension Duration {
    /// The duration in whole nanoseconds, saturating at `Int64`'s range.
    public var totalNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        let (sum, overflow2) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        return overflow2 ? (seconds < 0 ? .min : .max) : sum
    }

    /// The duration in nanoseconds, as a `Double`: exact to the nanosecond below 2⁵³ ns.
    ///
    /// A duration is 128-bit attoseconds. Taking it apart with `components` costs a 128-bit
    /// division, so durations below 2⁶⁴ attoseconds (about 18 s), the latencies that hot
    /// paths report, are converted from their low word directly.
    @inlinable
    public var nanosecondsDouble: Double {
        if _high == 0 {
            return Double(_low) * 1e-9
        }
        return self / .nanoseconds(1)
    }

    /// The duration in seconds, as a `Double`.
    public var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }
}
