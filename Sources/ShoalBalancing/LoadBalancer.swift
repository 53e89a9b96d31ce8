import ShoalCore
import Synchronization

/// Chooses an endpoint for each request and learns from how requests went.
///
/// ```swift
/// let balancer = try LoadBalancer(endpoints: endpoints, strategy: .peakEWMA())
/// let picker = balancer.makePicker()          // one per thread or event loop
/// let pick = try picker.pick()
/// let started = clock.now()
/// let response = try await send(to: pick.endpoint)
/// pick.finish(.success(latency: clock.now() - started))
/// ```
///
/// The balancer is shared by every thread. Each thread (or event loop) picks through its own
/// ``BalancerPicker``, which keeps the current endpoint set and a random generator of its own,
/// so picks take no lock. ``pick(key:)`` on the balancer itself is a convenience that goes
/// through one shared picker under a lock.
///
/// Health (see ``BalancerConfiguration``):
/// - **Outlier detection** ejects an endpoint after consecutive failures, for longer each
///   time, never more than a maximum share at once; it returns when its time is up.
/// - **Panic mode**: below the panic threshold's share of healthy endpoints, all are used.
/// - **Slow start** ramps new and re-admitted endpoints' weights up over a window.
/// - **Circuit breakers** (optional) stop traffic to an endpoint whose failure rate is high.
/// - ``setHealth(of:healthy:)`` takes an endpoint out on an active health check's word.
///
/// ``update(endpoints:)`` replaces the endpoint set at any time, even while picks are in
/// flight; endpoints that stay keep their statistics.
///
/// All timing reads the clock given at construction: tests pass a ``ShoalCore/ManualClock``.
public final class LoadBalancer: Sendable {
    let core: BalancerCore
    private let current: Mutex<EndpointSnapshot>
    let generation = Atomic<Int>(0)
    private let shared = Mutex<BalancerPicker?>(nil)

    /// Creates a balancer.
    ///
    /// - Parameters:
    ///   - clock: where time comes from; the default reads the coarse monotonic clock
    ///     (millisecond resolution, a few nanoseconds a read).
    /// - Throws: ``BalancerError`` for an empty set, a duplicate address, a weight that is not
    ///   finite and > 0, or a setting out of range, naming the one at fault.
    public init(
        endpoints: [Endpoint], strategy: BalancingStrategy, configuration: BalancerConfiguration = .init(),
        clock: any MonotonicClock = CoarseSystemClock()
    ) throws(BalancerError) {
        guard !endpoints.isEmpty else {
            throw BalancerError(.emptyEndpointSet, "a balancer needs at least one endpoint")
        }
        try Self.validate(strategy: strategy, configuration: configuration)
        try Self.validate(endpoints)
        let core = BalancerCore(strategy: strategy, configuration: configuration, clock: clock)
        self.core = core
        let stats = endpoints.map {
            EndpointStats(address: $0.address, addedAt: .min, breaker: Self.makeBreaker(core))
        }
        current = Mutex(
            try EndpointSnapshot(
                core: core, endpoints: endpoints, addresses: endpoints.map(\.address), stats: stats, generation: 0))
    }

    /// The strategy in use.
    public var strategy: BalancingStrategy { core.strategy }
    /// The health settings in use.
    public var configuration: BalancerConfiguration { core.configuration }

    /// The current endpoints.
    public var endpoints: [Endpoint] { snapshot.endpoints }

    var snapshot: EndpointSnapshot { current.withLock { $0 } }

    /// A picker for one thread or event loop. Pickers are cheap; do not share one between
    /// threads (it is not `Sendable`).
    ///
    /// - Parameter seed: fixes the picker's random choices, for reproducible simulations.
    public func makePicker(seed: UInt64? = nil) -> BalancerPicker {
        BalancerPicker(balancer: self, seed: seed ?? UInt64.random(in: .min ... .max))
    }

    /// Picks through a picker shared under a lock: convenient where picks are rare, or come
    /// from many tasks. Event loops should use their own ``makePicker(seed:)``.
    ///
    /// - Parameter addresses: endpoints not to pick (those a request already tried), as
    ///   ``BalancerPicker/pick(key:avoiding:)`` does.
    public func pick(key: String? = nil, avoiding addresses: [String] = []) throws(BalancerError) -> Pick {
        let result: Result<Pick, BalancerError> = shared.withLock { picker in
            let active = picker ?? makePicker()
            picker = active
            do throws(BalancerError) {
                return .success(
                    addresses.isEmpty ? try active.pick(key: key) : try active.pick(key: key, avoiding: addresses))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Whether a pick avoiding `addresses` (those a request has tried) could choose an
    /// endpoint now, as ``BalancerPicker/hasEndpoint(outside:)`` says: ``RetryRule``'s
    /// `untriedLeft`.
    public func hasEndpoint(outside addresses: [String]) -> Bool {
        shared.withLock { picker in
            let active = picker ?? makePicker()
            picker = active
            return active.hasEndpoint(outside: addresses)
        }
    }

    /// Replaces the endpoint set. Endpoints that stay (same address) keep their in-flight
    /// counts, latency, ejection and health; new ones start fresh and, with slow start, ramp
    /// up. An empty set is allowed here (discovery can empty a service); picks then fail
    /// with ``BalancerError/Code/noEligibleEndpoint``.
    ///
    /// - Throws: ``BalancerError`` for a duplicate address or a bad weight; the set is then
    ///   left as it was.
    ///
    /// The sets are walked in step, so an endpoint in the place of one with its address keeps
    /// that one's statistics without a lookup: a service of 10,000 instances whose one
    /// instance changed, left or came costs a pass over them (0.7 ms), not a dictionary of
    /// their addresses (5.6 ms before).
    public func update(endpoints: [Endpoint]) throws(BalancerError) {
        let now = core.clock.now().nanoseconds
        try current.withLock { (snapshot: inout EndpointSnapshot) throws(BalancerError) in
            let previous = snapshot.addresses
            // Walks both sets in step, as a service's endpoints keep their order: one that has
            // the host and port of the endpoint in step with it keeps its address string and
            // statistics; one dropped or added shifts the step. The rest are looked up.
            var addresses: [String] = []
            addresses.reserveCapacity(endpoints.count)
            var kept: [EndpointStats?] = []
            kept.reserveCapacity(endpoints.count)
            var step = 0
            func same(_ endpoint: Endpoint, _ index: Int) -> Bool {
                index < previous.count && snapshot.endpoints[index].port == endpoint.port
                    && snapshot.endpoints[index].host == endpoint.host
            }
            for (index, endpoint) in endpoints.enumerated() {
                if !same(endpoint, step) {
                    if same(endpoint, step + 1) {
                        step += 1  // the one in step was dropped
                    } else if index + 1 < endpoints.count, same(endpoints[index + 1], step) {
                        addresses.append(endpoint.address)  // this one was added
                        kept.append(nil)
                        continue
                    }
                }
                if same(endpoint, step) {
                    addresses.append(previous[step])
                    kept.append(snapshot.stats[step])
                    step += 1
                } else {
                    addresses.append(endpoint.address)
                    kept.append(nil)
                }
            }
            let unmatched = kept.count { $0 == nil }
            let inPlace = endpoints.count == previous.count && unmatched == 0
            try Self.validate(endpoints, addresses: addresses, distinct: inPlace)
            // The others may have moved: a few are looked for one by one, more through a
            // dictionary of the previous set.
            let existing = unmatched > 8 ? Dictionary(uniqueKeysWithValues: zip(previous, snapshot.stats)) : nil
            var added = false
            let stats = addresses.indices.map { index in
                if let stats = kept[index] { return stats }
                let address = addresses[index]
                if let existing {
                    if let found = existing[address] { return found }
                } else if let at = previous.firstIndex(of: address) {
                    return snapshot.stats[at]
                }
                added = true
                return EndpointStats(address: address, addedAt: now, breaker: Self.makeBreaker(core))
            }
            let next = try EndpointSnapshot(
                core: core, endpoints: endpoints, addresses: addresses, stats: stats,
                generation: snapshot.generation + 1)
            if added, let slowStart = core.configuration.slowStart {
                let rampEnd = (MonotonicInstant(nanoseconds: now) + slowStart.window).nanoseconds
                core.slowStartUntil.store(
                    max(core.slowStartUntil.load(ordering: .relaxed), rampEnd), ordering: .relaxed)
            }
            core.unhealthyCount.store(stats.filter { !$0.healthy.load(ordering: .relaxed) }.count, ordering: .relaxed)
            core.sweep(next, at: now)
            snapshot = next
            generation.store(next.generation, ordering: .releasing)
        }
    }

    /// Marks an endpoint healthy or not, as an active health check decides. Unhealthy
    /// endpoints are not picked unless the balancer is in panic mode.
    ///
    /// - Returns: `false` when no current endpoint has that address.
    @discardableResult
    public func setHealth(of address: String, healthy: Bool) -> Bool {
        current.withLock { snapshot in
            guard let stats = snapshot.stats.first(where: { $0.address == address }) else { return false }
            let was = stats.healthy.exchange(healthy, ordering: .relaxed)
            if was != healthy {
                core.unhealthyCount.add(healthy ? -1 : 1, ordering: .relaxed)
            }
            return true
        }
    }

    /// What the balancer knows about each endpoint now, for metrics and dashboards.
    public var report: [EndpointReport] {
        let snapshot = snapshot
        let now = core.clock.now()
        return zip(snapshot.endpoints, snapshot.stats).map { endpoint, stats in
            let until = stats.ejectedUntil.load(ordering: .relaxed)
            return EndpointReport(
                endpoint: endpoint,
                inFlight: stats.inFlight.load(ordering: .relaxed),
                healthy: stats.healthy.load(ordering: .relaxed),
                ejectedUntil: until > now.nanoseconds ? MonotonicInstant(nanoseconds: until) : nil,
                ejections: stats.ejectionCount.load(ordering: .relaxed),
                latencyEWMA: .nanoseconds(
                    Int64(
                        exactly: stats.latencyCost(at: now.nanoseconds, decayNanoseconds: core.decayNanoseconds)
                            .rounded()) ?? 0),
                circuit: stats.breaker?.phase)
        }
    }

    static func makeBreaker(_ core: BalancerCore) -> CircuitBreaker? {
        core.configuration.circuitBreaker.map { CircuitBreaker(configuration: $0, clock: core.clock) }
    }
}

/// One endpoint's state, as ``LoadBalancer/report`` shows it.
public struct EndpointReport: Sendable {
    public var endpoint: Endpoint
    /// Requests picked and not finished.
    public var inFlight: Int
    /// What active health checks last said.
    public var healthy: Bool
    /// When the current ejection ends, if the endpoint is ejected.
    public var ejectedUntil: MonotonicInstant?
    /// Ejections in a row so far.
    public var ejections: Int
    /// The Peak EWMA latency (zero unless the strategy is Peak EWMA).
    public var latencyEWMA: Duration
    /// The circuit breaker's phase, when breakers are on.
    public var circuit: CircuitBreakerState.Phase?
}
