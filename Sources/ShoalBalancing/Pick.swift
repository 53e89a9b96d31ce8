import ShoalCore
import ShoalHashing

/// An endpoint chosen for one request. Call ``finish(_:)`` exactly once when the request ends,
/// whatever happened: it releases the in-flight count and teaches the balancer.
public struct Pick: Sendable {
    let snapshot: EndpointSnapshot
    /// The index of the endpoint in the set the pick was made from.
    public let index: Int
    let assignment: BoundedLoadPlacement.Assignment?

    /// The chosen endpoint.
    public var endpoint: Endpoint { snapshot.endpoints[index] }

    /// Reports how the request went.
    public func finish(_ outcome: PickOutcome) {
        let stats = snapshot.stats[index]
        stats.inFlight.subtract(1, ordering: .relaxed)
        if let assignment, let bounded = snapshot.bounded {
            bounded.release(assignment)
        }
        let core = snapshot.core
        let failed = outcome.countsAsFailure
        if case .failure(.cancelled, _) = outcome { return }
        var now: Int64?
        if case .peakEWMA = core.strategy {
            let time = core.clock.now().nanoseconds
            now = time
            stats.observe(
                latencyNanoseconds: Double(outcome.latency.totalNanoseconds), failed: failed, at: time,
                decayNanoseconds: core.decayNanoseconds)
        }
        stats.breaker?.record(success: !failed)
        if failed {
            guard let detection = core.configuration.outlierDetection else { return }
            let failures = stats.consecutiveFailures.add(1, ordering: .relaxed).newValue
            if failures >= detection.consecutiveFailures {
                core.eject(stats, in: snapshot, at: now ?? core.clock.now().nanoseconds)
            }
        } else if stats.consecutiveFailures.load(ordering: .relaxed) != 0 {
            stats.consecutiveFailures.store(0, ordering: .relaxed)
        }
    }
}
