import Metrics
import Synchronization

/// The client's swift-metrics, by service and instance:
///
/// | metric | dimensions |
/// |---|---|
/// | `shoal_client_requests_total` (counter) | `service`, `instance`, `status` (a code, or `error`) |
/// | `shoal_client_call_duration_seconds` (timer) | `service` |
/// | `shoal_client_answer_duration_seconds` (timer: until an answer's head) | `service`, `instance` |
/// | `shoal_client_retries_total` (counter) | `service` |
/// | `shoal_client_hedges_total` (counter) | `service` |
///
/// Handles are made once per name and dimensions and kept, as making one goes through the
/// metrics factory.
final class ServiceClientMetrics: Sendable {
    private struct Handles {
        var counters: [[String]: Counter] = [:]
        var timers: [[String]: Timer] = [:]
    }

    private let handles = Mutex(Handles())
    private let factory: any MetricsFactory

    init(factory: any MetricsFactory) {
        self.factory = factory
    }

    func response(service: String, instance: String, status: UInt) {
        counter("shoal_client_requests_total", ["service", service, "instance", instance, "status", String(status)])
            .increment()
    }

    func failure(service: String, instance: String) {
        counter("shoal_client_requests_total", ["service", service, "instance", instance, "status", "error"])
            .increment()
    }

    func retry(service: String) {
        counter("shoal_client_retries_total", ["service", service]).increment()
    }

    func hedge(service: String) {
        counter("shoal_client_hedges_total", ["service", service]).increment()
    }

    func call(service: String, duration: Duration) {
        timer("shoal_client_call_duration_seconds", ["service", service]).recordNanoseconds(duration.totalNanoseconds)
    }

    func answered(service: String, instance: String, after latency: Duration) {
        timer("shoal_client_answer_duration_seconds", ["service", service, "instance", instance])
            .recordNanoseconds(latency.totalNanoseconds)
    }

    /// The timer `label` with `pairs` (name, value, name, value…) as dimensions.
    private func timer(_ label: String, _ pairs: [String]) -> Timer {
        handles.withLock { handles in
            let key = [label] + pairs
            if let timer = handles.timers[key] { return timer }
            let timer = Timer(
                label: label, dimensions: Self.dimensions(pairs), preferredDisplayUnit: .seconds, factory: factory)
            handles.timers[key] = timer
            return timer
        }
    }

    /// The counter `label` with `pairs` (name, value, name, value…) as dimensions.
    private func counter(_ label: String, _ pairs: [String]) -> Counter {
        handles.withLock { handles in
            let key = [label] + pairs
            if let counter = handles.counters[key] { return counter }
            let counter = Counter(label: label, dimensions: Self.dimensions(pairs), factory: factory)
            handles.counters[key] = counter
            return counter
        }
    }

    private static func dimensions(_ pairs: [String]) -> [(String, String)] {
        stride(from: 0, to: pairs.count, by: 2).map { (pairs[$0], pairs[$0 + 1]) }
    }
}
