import ShoalCore
import Synchronization

/// The latest answer times of one service, for the hedging delay: a ring of the last
/// ``capacity`` samples, with the asked-for percentile recomputed every ``refreshEvery``
/// samples rather than on every call.
final class LatencyWindow: Sendable {
    static let capacity = 256
    static let refreshEvery = 32

    private struct State {
        var samples: [Int64] = []
        var next = 0
        var sinceRefresh = 0
        var cached: (percentile: Double, nanoseconds: Int64)?
    }

    private let state = Mutex(State())

    /// Adds an answer time.
    func record(_ latency: Duration) {
        let nanoseconds = latency.totalNanoseconds
        state.withLock { state in
            if state.samples.count < Self.capacity {
                state.samples.append(nanoseconds)
            } else {
                state.samples[state.next] = nanoseconds
            }
            state.next = (state.next + 1) % Self.capacity
            state.sinceRefresh += 1
        }
    }

    /// The `percentile` (0…1) of the samples, or `nil` with fewer than `minimumSamples`.
    func percentile(_ percentile: Double, minimumSamples: Int) -> Duration? {
        state.withLock { state -> Duration? in
            guard state.samples.count >= max(1, minimumSamples) else { return nil }
            if let cached = state.cached, cached.percentile == percentile, state.sinceRefresh < Self.refreshEvery {
                return .nanoseconds(cached.nanoseconds)
            }
            let sorted = state.samples.sorted()
            let rank = min(sorted.count - 1, max(0, Int((percentile * Double(sorted.count)).rounded(.up)) - 1))
            state.cached = (percentile, sorted[rank])
            state.sinceRefresh = 0
            return .nanoseconds(sorted[rank])
        }
    }
}
