import ShoalCore
import Synchronization

/// A circuit breaker on a failure-rate window, safe to share between threads.
///
/// ```swift
/// let breaker = CircuitBreaker(configuration: .init(failureRateThreshold: 0.5), clock: SystemClock())
/// if let permit = breaker.permit() {
///     if let ok = await send() {
///         breaker.record(success: ok, permit: permit)
///     } else {
///         breaker.abandon(permit)  // cancelled: the probe slot goes back
///     }
/// }
/// ```
///
/// The logic is ``CircuitBreakerState``; this type adds a lock and a clock. While closed, the
/// request check reads one atomic and takes no lock.
public final class CircuitBreaker: Sendable {
    /// The breaker's settings.
    public struct Configuration: Sendable, Hashable {
        /// The rolling window failures are counted over. Default 10 s.
        public var window: Duration
        /// How many buckets the window is kept in. Default 10.
        public var bucketCount: Int
        /// Requests the window must hold before the rate is judged. Default 20.
        public var minimumRequests: Int
        /// The failure rate (0...1) that opens the breaker. Default 0.5.
        public var failureRateThreshold: Double
        /// How long the breaker stays open before probing. Default 5 s.
        public var openDuration: Duration
        /// Trial requests allowed at once when half-open, and successes needed to close. Default 3.
        public var halfOpenProbes: Int

        public init(
            window: Duration = .seconds(10), bucketCount: Int = 10, minimumRequests: Int = 20,
            failureRateThreshold: Double = 0.5, openDuration: Duration = .seconds(5), halfOpenProbes: Int = 3
        ) {
            self.window = window
            self.bucketCount = bucketCount
            self.minimumRequests = minimumRequests
            self.failureRateThreshold = failureRateThreshold
            self.openDuration = openDuration
            self.halfOpenProbes = halfOpenProbes
        }

        /// Checks every setting, naming the first one out of range.
        func validate() throws(BalancerError) {
            guard window > .zero, bucketCount >= 1, minimumRequests >= 1, halfOpenProbes >= 1, openDuration >= .zero,
                failureRateThreshold > 0, failureRateThreshold <= 1
            else {
                throw BalancerError(
                    .invalidConfiguration,
                    "circuit breaker settings out of range: window and probes must be positive, "
                        + "failureRateThreshold in (0, 1], got \(self)")
            }
        }
    }

    private let state: Mutex<CircuitBreakerState>
    private let closed = Atomic<Bool>(true)
    private let clock: any MonotonicClock

    public init(configuration: Configuration, clock: any MonotonicClock) {
        state = Mutex(CircuitBreakerState(configuration: configuration))
        self.clock = clock
    }

    /// Whether a request could be sent now, reserving nothing: for judging candidates.
    public func permitsRequest() -> Bool {
        if closed.load(ordering: .relaxed) { return true }
        let now = clock.now().nanoseconds
        return state.withLock { $0.permitsRequest(at: now) }
    }

    /// Whether a request may be sent now. In half-open, `true` reserves a probe slot that the
    /// next ``record(success:)`` releases, so call it only for a request that will be sent.
    public func allowsRequest() -> Bool {
        permit() != nil
    }

    /// A permit for a request now, or `nil` when none may be sent. In half-open it reserves
    /// a probe slot; pass it to ``record(success:permit:)`` or ``abandon(_:)`` when the
    /// request ends. While closed it reads one atomic and takes no lock.
    public func permit() -> CircuitBreakerState.Permit? {
        if closed.load(ordering: .relaxed) { return .unreserved }
        let now = clock.now().nanoseconds
        return state.withLock { state in
            let permit = state.permit(at: now)
            closed.store(state.phase == .closed, ordering: .relaxed)
            return permit
        }
    }

    /// Records the outcome of the request that `permit` allowed: in half-open, only the
    /// spell's own probes count.
    public func record(success: Bool, permit: CircuitBreakerState.Permit) {
        let now = clock.now().nanoseconds
        state.withLock { state in
            state.record(success: success, at: now, permit: permit)
            closed.store(state.phase == .closed, ordering: .relaxed)
        }
    }

    /// Gives back the probe slot `permit` holds, for a request cancelled before it was
    /// answered, without counting a success or a failure.
    public func abandon(_ permit: CircuitBreakerState.Permit) {
        guard permit.probeSpell != nil else { return }  // it holds no slot
        state.withLock { $0.abandon(permit) }
    }

    /// Records the outcome of a request that was allowed.
    public func record(success: Bool) {
        let now = clock.now().nanoseconds
        state.withLock { state in
            state.record(success: success, at: now)
            closed.store(state.phase == .closed, ordering: .relaxed)
        }
    }

    /// The current phase.
    public var phase: CircuitBreakerState.Phase {
        state.withLock { $0.phase }
    }
}
