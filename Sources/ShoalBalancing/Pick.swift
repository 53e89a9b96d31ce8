import ShoalCore
import ShoalHashing

/// An endpoint chosen for one request. Call ``finish(_:)`` exactly once when the request ends,
/// whatever happened: it releases the in-flight count and teaches the balancer.
public struct Pick: Sendable {
    let handle: SnapshotHandle
    /// The index of the endpoint in the set the pick was made from.
    public let index: Int
    let assignment: BoundedLoadPlacement.Assignment?
    /// When the pick was made (nanoseconds), for Peak EWMA; `nil` for other strategies.
    let pickedAt: Int64?
    /// What the endpoint's circuit breaker granted the request.
    let permit: CircuitBreakerState.Permit

    /// The chosen endpoint.
    public var endpoint: Endpoint { handle.snapshot.endpoints[index] }

    /// The chosen endpoint's ``ShoalCore/Endpoint/address`` (`host:port`), made once per
    /// endpoint set: cheaper than `endpoint.address`, which builds the string on each call.
    public var address: String { handle.snapshot.addresses[index] }

    /// Reports how the request went.
    public func finish(_ outcome: PickOutcome) {
        // `handle` keeps the snapshot, its statistics and its core alive for the call.
        handle.unmanaged.withInstance { snapshot in
            snapshot.withStats(index) { stats in
                snapshot.unmanagedCore.withInstance { core in
                    finish(outcome, stats: stats, snapshot: snapshot, core: core)
                }
            }
        }
    }

    @inline(__always)
    private func finish(_ outcome: PickOutcome, stats: EndpointStats, snapshot: EndpointSnapshot, core: BalancerCore) {
        stats.inFlight.wrappingSubtract(1, ordering: .relaxed)
        if let assignment, let bounded = snapshot.bounded {
            bounded.release(assignment)
        }
        let failed = outcome.countsAsFailure
        if case .failure(.cancelled, _) = outcome {
            // Not judged: give back a half-open probe slot, but learn nothing else.
            stats.breaker?.abandon(permit)
            return
        }
        var now: Int64?
        if let pickedAt {
            // The answer arrived `latency` after the pick: no need to read the clock again.
            // A negative or absurd latency (a caller's clock bug) is clamped to 0 ... 10⁶ s.
            let latency = min(max(outcome.latency.nanosecondsDouble, 0), 1e15)
            let time = pickedAt &+ Int64(latency)
            now = time
            stats.observe(
                latencyNanoseconds: latency, failed: failed, at: time,
                decayNanoseconds: core.decayNanoseconds)
        }
        stats.breaker?.record(success: !failed, permit: permit)
        if failed {
            guard let detection = core.configuration.outlierDetection else { return }
            let failures = stats.consecutiveFailures.wrappingAdd(1, ordering: .relaxed).newValue
            if failures >= detection.consecutiveFailures {
                core.eject(stats, in: snapshot, at: now ?? core.now())
            }
        } else if stats.consecutiveFailures.load(ordering: .relaxed) != 0 {
            stats.consecutiveFailures.store(0, ordering: .relaxed)
        }
    }
}
