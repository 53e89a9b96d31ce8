import Hummingbird
import Metrics
import Prometheus
import ShoalAdmin
import ShoalDiscovery
import ShoalGateway
import ShoalLock

/// The admin listener's routes, as `shoal serve` and `shoal demo` serve them: the registry
/// API, locks over HTTP, `/v1/gateway`, `/metrics` and the dashboard, all but the dashboard's
/// files behind `token` when there is one.
enum AdminRouter {
    /// Makes the router. It also bootstraps swift-metrics with the Prometheus registry that
    /// `/metrics` renders, which a process may do only once.
    static func make(
        registry: any ServiceRegistry & ServiceDiscovery, checker: HealthChecker,
        locks: any DistributedLock & LockListing, gateway: Gateway, token: String?
    ) -> Router<BasicRequestContext> {
        let router = Router()
        if let token { router.add(middleware: BearerTokenMiddleware(token: token)) }
        RegistryAPI(registry: registry, checker: checker).addRoutes(to: router)
        LockAPI(locks: locks).addRoutes(to: router)
        GatewayStatusRoute(gateway: gateway).addRoutes(to: router)
        let prometheus = PrometheusCollectorRegistry()
        var metrics = PrometheusMetricsFactory(registry: prometheus)
        metrics.durationHistogramBuckets[Gateway.requestDurationMetric] = Gateway.requestDurationBuckets
        MetricsSystem.bootstrap(metrics)
        MetricsRoute { prometheus.emitToString() }.addRoutes(to: router)
        DashboardRoute().addRoutes(to: router)
        return router
    }
}
