import Metrics
import NIOCore
import ShoalCore

/// Gauges read every few seconds from the balancers and the event loops' pools:
///
/// | metric | labels | meaning |
/// |---|---|---|
/// | `shoal_gateway_upstream_in_flight` | `route`, `upstream` | requests sent and not answered |
/// | `shoal_gateway_upstream_ejected` | `route`, `upstream` | 1 while outlier detection has it out |
/// | `shoal_gateway_upstream_latency_seconds` | `route`, `upstream` | the balancer's latency estimate |
/// | `shoal_gateway_ejections_total` (counter) | `route`, `upstream` | ejections so far |
/// | `shoal_gateway_upstreams` | `route` | instances the route can send to |
/// | `shoal_gateway_upstream_connections` | `state` (`open`, `idle`) | the pools' connections |
/// | `shoal_gateway_client_connections` | | client connections open |
/// | `shoal_gateway_http2_connections` | | of them, those that speak HTTP/2 |
struct GatewayMetricsSampler {
    let shared: GatewayShared
    let loops: [NIOLoopBound<GatewayLoop>]
    let clock: any MonotonicClock

    /// Samples every `interval` until cancelled.
    func run(every interval: Duration = .seconds(2)) async {
        var ejections: [String: Int] = [:]
        while !Task.isCancelled {
            sample(&ejections)
            await samplePools()
            try? await Task.sleep(for: interval)
        }
    }

    private func sample(_ ejections: inout [String: Int]) {
        let now = clock.now()
        for (index, routeLabel) in shared.routeLabels.enumerated() {
            let reports = shared.upstreams[index].balancer?.report ?? []
            Gauge(label: "shoal_gateway_upstreams", dimensions: [("route", routeLabel)]).record(reports.count)
            for report in reports {
                let dimensions = [("route", routeLabel), ("upstream", report.endpoint.address)]
                Gauge(label: "shoal_gateway_upstream_in_flight", dimensions: dimensions).record(report.inFlight)
                let ejected = report.ejectedUntil.map { $0 > now } ?? false
                Gauge(label: "shoal_gateway_upstream_ejected", dimensions: dimensions).record(ejected ? 1 : 0)
                Gauge(label: "shoal_gateway_upstream_latency_seconds", dimensions: dimensions)
                    .record(report.latencyEWMA.seconds)
                // The balancer counts ejections in a row; the counter adds each new one.
                let key = routeLabel + " " + report.endpoint.address
                let previous = ejections[key] ?? 0
                if report.ejections > previous {
                    Counter(label: "shoal_gateway_ejections_total", dimensions: dimensions)
                        .increment(by: report.ejections - previous)
                }
                ejections[key] = report.ejections
            }
        }
        Gauge(label: "shoal_gateway_client_connections").record(shared.connections.load(ordering: .relaxed))
        Gauge(label: "shoal_gateway_http2_connections").record(shared.http2Connections.load(ordering: .relaxed))
    }

    private func samplePools() async {
        var open = 0
        var idle = 0
        for loop in loops {
            guard
                let counts = try? await loop.eventLoop.submit({ (loop.value.pool.openCount, loop.value.pool.idleCount) }
                ).get()
            else { continue }
            open += counts.0
            idle += counts.1
        }
        Gauge(label: "shoal_gateway_upstream_connections", dimensions: [("state", "open")]).record(open)
        Gauge(label: "shoal_gateway_upstream_connections", dimensions: [("state", "idle")]).record(idle)
    }
}
