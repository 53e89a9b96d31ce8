import ShoalBalancing
import ShoalCore
import ShoalDiscovery
import Synchronization

/// The instances a route can send to, kept in a `LoadBalancer` that follows the registry.
///
/// A service with no eligible instance has no balancer (`LoadBalancer` needs one endpoint at
/// least); requests then get 503. Each event loop keeps its own `BalancerPicker` and notices
/// a new balancer by ``generation``, one atomic read a request; endpoint changes within a
/// balancer reach pickers by the balancer's own generation.
final class RouteUpstreams: Sendable {
    let service: String
    let strategy: BalancingStrategy
    let configuration: BalancerConfiguration
    let retryBudget: RetryBudget
    private let current = Mutex<LoadBalancer?>(nil)
    private let replaced = Atomic<Int>(0)

    init(service: String, strategy: BalancingStrategy, configuration: BalancerConfiguration, clock: any MonotonicClock) {
        self.service = service
        self.strategy = strategy
        self.configuration = configuration
        retryBudget = RetryBudget(clock: clock)
    }

    /// Changes when the balancer is replaced (made, or dropped when the service emptied).
    var generation: Int { replaced.load(ordering: .acquiring) }

    /// The balancer, if the service has instances to send to.
    var balancer: LoadBalancer? { current.withLock { $0 } }

    /// Applies a snapshot from the registry: the instances not failing health checks, each
    /// address once.
    func apply(_ snapshot: ServiceSnapshot) {
        var seen = Set<String>()
        let endpoints = snapshot.healthy.compactMap { try? $0.endpoint() }.filter { seen.insert($0.address).inserted }
        current.withLock { balancer in
            if endpoints.isEmpty {
                guard balancer != nil else { return }
                balancer = nil
            } else if let existing = balancer {
                // The same balancer keeps each endpoint's statistics (latency, ejections).
                if (try? existing.update(endpoints: endpoints)) != nil { return }
                balancer = try? LoadBalancer(endpoints: endpoints, strategy: strategy, configuration: configuration)
            } else {
                balancer = try? LoadBalancer(endpoints: endpoints, strategy: strategy, configuration: configuration)
            }
            replaced.add(1, ordering: .releasing)
        }
    }

    /// Follows the service in `discovery` until cancelled.
    func follow(_ discovery: any ServiceDiscovery) async {
        for await snapshot in discovery.subscribe(service) {
            apply(snapshot)
        }
    }
}
