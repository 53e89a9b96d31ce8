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
    private let sleepers = Mutex<[Sleeper]>([])
    private let nextSleeper = Atomic<Int>(0)

    private struct Sleeper {
        let id: Int
        let deadline: Int64
        let continuation: CheckedContinuation<Void, any Error>
    }

    /// A clock that starts at `start`.
    public init(start: MonotonicInstant = MonotonicInstant(nanoseconds: 0)) {
        nanoseconds = Atomic(start.nanoseconds)
    }

    /// Suspends until the clock has been advanced to `deadline`; a cancelled sleeper resumes
    /// at once with `CancellationError`.
    public func sleep(until deadline: MonotonicInstant) async throws {
        let id = nextSleeper.add(1, ordering: .relaxed).newValue
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resumeNow = sleepers.withLock { sleepers -> Bool in
                    if Task.isCancelled || deadline.nanoseconds <= nanoseconds.load(ordering: .acquiring) {
                        return true
                    }
                    sleepers.append(Sleeper(id: id, deadline: deadline.nanoseconds, continuation: continuation))
                    return false
                }
                if resumeNow {
                    if Task.isCancelled {
                        continuation.resume(throwing: CancellationError())
                    } else {
                        continuation.resume()
                    }
                }
            }
        } onCancel: {
            let cancelled = sleepers.withLock { sleepers -> Sleeper? in
                guard let index = sleepers.firstIndex(where: { $0.id == id }) else { return nil }
                return sleepers.remove(at: index)
            }
            cancelled?.continuation.resume(throwing: CancellationError())
        }
    }

    /// The number of tasks sleeping on this clock, for tests that must wait until a task has
    /// gone to sleep before advancing.
    public var sleeperCount: Int { sleepers.withLock { $0.count } }

    /// When each sleeping task wants to wake, earliest first, for tests that must know which
    /// sleep a task has reached.
    public var sleeperDeadlines: [MonotonicInstant] {
        sleepers.withLock { $0.map { MonotonicInstant(nanoseconds: $0.deadline) }.sorted() }
    }

    /// Resumes the sleepers whose deadline is at or before the current time.
    private func wakeDue() {
        let now = nanoseconds.load(ordering: .acquiring)
        let due = sleepers.withLock { sleepers -> [Sleeper] in
            let due = sleepers.filter { $0.deadline <= now }
            sleepers.removeAll { $0.deadline <= now }
            return due
        }
        for sleeper in due.sorted(by: { $0.deadline < $1.deadline }) {
            sleeper.continuation.resume()
        }
    }

    public func now() -> MonotonicInstant {
        MonotonicInstant(nanoseconds: nanoseconds.load(ordering: .acquiring))
    }

    /// Moves the clock forward by `duration` (a negative duration is ignored).
    public func advance(by duration: Duration) {
        let step = max(0, duration.totalNanoseconds)
        nanoseconds.add(step, ordering: .releasing)
        wakeDue()
    }

    /// Moves the clock to `instant`, if that is not earlier than now.
    public func advance(to instant: MonotonicInstant) {
        var current = nanoseconds.load(ordering: .relaxed)
        while current < instant.nanoseconds {
            let (exchanged, original) = nanoseconds.compareExchange(
                expected: current, desired: instant.nanoseconds, ordering: .acquiringAndReleasing)
            if exchanged { break }
            current = original
        }
        wakeDue()
    }
}
