import Metrics
import NIOCore

/// What the gateway reports through swift-metrics, per event loop. Metric objects are made
/// once per label set and kept, so a request costs a dictionary lookup and an increment.
///
/// | metric | labels |
/// |---|---|
/// | `shoal_gateway_requests_total` | `route`, `upstream` (`none` for the gateway's own answers), `status` |
/// | `shoal_gateway_request_duration_seconds` (histogram) | `route` |
/// | `shoal_gateway_retries_total` | `route` |
/// | `shoal_gateway_grpc_calls_total` | `route`, `grpc_status` (the call's, from the instance or the gateway) |
///
/// ``GatewayMetricsSampler`` adds the gauges read from the balancers and pools.
final class GatewayMetrics {
    private struct RequestKey: Hashable {
        let route: Int
        let upstream: String
        let status: Int
    }

    private let routeLabels: [String]
    private var requests: [RequestKey: Counter] = [:]
    private var durations: [Int: Metrics.Timer] = [:]
    private var retries: [Int: Counter] = [:]
    private var grpcCalls: [GRPCKey: Counter] = [:]

    private struct GRPCKey: Hashable {
        let route: Int
        let status: Int
    }

    init(routeLabels: [String]) {
        self.routeLabels = routeLabels
    }

    private func label(_ route: Int?) -> String {
        route.map { routeLabels[$0] } ?? "none"
    }

    /// A response went to the client: from `upstream`, or the gateway's own when `nil`.
    func response(route: Int?, upstream: String?, status: Int, started: NIODeadline, now: NIODeadline = .now()) {
        let key = RequestKey(route: route ?? -1, upstream: upstream ?? "none", status: status)
        Self.cached(key, in: &requests) {
            Counter(
                label: "shoal_gateway_requests_total",
                dimensions: [("route", label(route)), ("upstream", key.upstream), ("status", String(status))])
        }.increment()
        guard let route else { return }
        Self.cached(route, in: &durations) {
            Metrics.Timer(label: Gateway.requestDurationMetric, dimensions: [("route", label(route))])
        }.recordNanoseconds((now - started).nanoseconds)
    }

    /// A gRPC call ended with `status`.
    func grpcCall(route: Int?, status: Int) {
        let key = GRPCKey(route: route ?? -1, status: status)
        Self.cached(key, in: &grpcCalls) {
            Counter(
                label: "shoal_gateway_grpc_calls_total",
                dimensions: [("route", label(route)), ("grpc_status", String(status))])
        }.increment()
    }

    /// A try after the first.
    func retry(route: Int) {
        Self.cached(route, in: &retries) {
            Counter(label: "shoal_gateway_retries_total", dimensions: [("route", label(route))])
        }.increment()
    }

    /// The metric for `key`, made by `make` the first time.
    private static func cached<Key: Hashable, Metric>(
        _ key: Key, in cache: inout [Key: Metric], _ make: () -> Metric
    ) -> Metric {
        if let metric = cache[key] { return metric }
        let metric = make()
        cache[key] = metric
        return metric
    }
}
