import ShoalBalancing
import ShoalCore
import Synchronization

/// The instances of one service that requests can go to, in a ShoalBalancing
/// `LoadBalancer` that follows the registry: the gateway keeps one per route, and a client
/// one per service it calls.
///
/// A service with no eligible instance has no balancer (`LoadBalancer` needs one endpoint at
/// least); its requests then fail with "no instance". A caller that keeps its own
/// `BalancerPicker` (one per event loop) notices a new balancer by ``generation``, one atomic
/// read a request; endpoint changes within a balancer reach pickers by the balancer's own
/// generation.
public final class ServiceBalancer: Sendable {
    /// The service followed.
    public let service: String
    /// How the balancer picks.
    public let strategy: BalancingStrategy
    /// The balancer's health settings (outlier detection, circuit breakers).
    public let configuration: BalancerConfiguration
    /// Limits retries to a share of requests, for everyone calling this service through it.
    public let retryBudget: RetryBudget
    private let clock: any MonotonicClock
    private let current = Mutex<LoadBalancer?>(nil)
    private let replaced = Atomic<Int>(0)

    /// A balancer for `service` with no instance yet: ``apply(_:)`` or ``follow(_:)`` fill it.
    ///
    /// - Parameter clock: what the balancer's ejections, circuit breakers, slow start and retry
    ///   budget read time from.
    public init(
        service: String, strategy: BalancingStrategy, configuration: BalancerConfiguration, clock: any MonotonicClock
    ) {
        self.service = service
        self.strategy = strategy
        self.configuration = configuration
        self.clock = clock
        retryBudget = RetryBudget(clock: clock)
    }

    /// Changes when the balancer is replaced (made, or dropped when the service emptied).
    public var generation: Int { replaced.load(ordering: .acquiring) }

    /// The balancer, if the service has instances to send to.
    public var balancer: LoadBalancer? { current.withLock { $0 } }

    /// Applies a snapshot from the registry: the instances not failing health checks, each
    /// address once.
    public func apply(_ snapshot: ServiceSnapshot) {
        apply(endpoints: ServiceEndpoints(snapshot).endpoints)
    }

    /// Balances over `endpoints`, keeping each one's statistics.
    private func apply(endpoints: [Endpoint]) {
        current.withLock { balancer in
            if endpoints.isEmpty {
                guard balancer != nil else { return }
                balancer = nil
            } else if let existing = balancer {
                // The same balancer keeps each endpoint's statistics (latency, ejections).
                if (try? existing.update(endpoints: endpoints)) != nil { return }
                balancer = makeBalancer(endpoints)
            } else {
                balancer = makeBalancer(endpoints)
            }
            replaced.add(1, ordering: .releasing)
        }
    }

    private func makeBalancer(_ endpoints: [Endpoint]) -> LoadBalancer? {
        try? LoadBalancer(endpoints: endpoints, strategy: strategy, configuration: configuration, clock: clock)
    }

    /// Follows the service in `discovery` until cancelled, by its changes: each one makes
    /// the endpoints of the instances it names, not of the others.
    public func follow(_ discovery: any ServiceDiscovery) async {
        var endpoints: ServiceEndpoints?
        for await event in discovery.watch(service) {
            switch event {
            case .snapshot(let snapshot):
                endpoints = ServiceEndpoints(snapshot)
            case .change(let change):
                endpoints?.apply(change)
            }
            if let endpoints { apply(endpoints: endpoints.endpoints) }
        }
    }
}
