/// How long to wait before trying to reach a server again: exponential, with full jitter,
/// so that many clients that lost the same server do not all come back at once.
///
/// Attempt 0 waits up to ``initial``; each further attempt doubles the ceiling, up to
/// ``maximum``. The delay is drawn uniformly between zero and the ceiling.
public struct RedisBackoff: Sendable, Hashable {
    /// The ceiling of the first delay. Default 50 ms.
    public var initial: Duration
    /// The largest ceiling. Default 2 s.
    public var maximum: Duration

    public init(initial: Duration = .milliseconds(50), maximum: Duration = .seconds(2)) {
        self.initial = initial
        self.maximum = maximum
    }

    /// The delay before retry number `attempt` (counting from 0).
    public func delay(attempt: Int) -> Duration {
        var ceiling = initial
        for _ in 0..<min(max(attempt, 0), 32) where ceiling < maximum {
            ceiling = ceiling * 2
        }
        ceiling = min(ceiling, maximum)
        let nanoseconds = max(ceiling.totalNanoseconds, 1)
        return .nanoseconds(Int64.random(in: 0...nanoseconds))
    }
}
