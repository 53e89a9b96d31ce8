import Hummingbird
import Metrics
import Prometheus
import ShoalAdmin
import ShoalDiscovery
import ShoalGateway
import ShoalLock

/// The admin listener's routes, as `shoal serve` and `shoal demo` serve them: the registry
/// API, locks over HTTP, `/v1/gateway`, `/metrics` and the dashboard, all but the dashboard's
/// files behind `tokens` when there are any (``AdminAccessMiddleware``).
enum AdminRouter {
    /// Makes the router. It also bootstraps swift-metrics with the Prometheus registry that
    /// `/metrics` renders, which a process may do only once.
    static func make(
        registry: any ServiceRegistry & ServiceDiscovery, checker: HealthChecker,
        locks: any DistributedLock & LockListing, gateway: Gateway, tokens: AdminTokens
    ) -> Router<AdminRequestContext> {
        let prometheus = PrometheusCollectorRegistry()
        var metrics = PrometheusMetricsFactory(registry: prometheus)
        metrics.durationHistogramBuckets[Gateway.requestDurationMetric] = Gateway.requestDurationBuckets
        MetricsSystem.bootstrap(metrics)
        return router(
            registry: registry, checker: checker, locks: locks, gateway: gateway, tokens: tokens,
            metrics: { prometheus.emitToString() })
    }

    /// The router alone, with `/metrics` rendered by `metrics`.
    static func router(
        registry: any ServiceRegistry & ServiceDiscovery, checker: HealthChecker,
        locks: any DistributedLock & LockListing, gateway: Gateway, tokens: AdminTokens,
        metrics: @escaping @Sendable () -> String
    ) -> Router<AdminRequestContext> {
        let router = Router(context: AdminRequestContext.self)
        router.add(middleware: AdminAccessMiddleware(tokens: tokens))
        RegistryAPI(registry: registry, checker: checker).addRoutes(to: router)
        LockAPI(locks: locks).addRoutes(to: router)
        GatewayStatusRoute(gateway: gateway).addRoutes(to: router)
        MetricsRoute(render: metrics).addRoutes(to: router)
        DashboardRoute().addRoutes(to: router)
        return router
    }
}
