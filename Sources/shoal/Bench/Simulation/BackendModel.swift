/// What every scenario's backends are like, before one of them misbehaves. The defaults follow
/// Linkerd's "Beyond Round Robin": 11 backends with a median latency of 170 ms.
struct BackendModel {
    var count = 11
    /// Median service time in seconds (log-normal).
    var median = 0.170
    /// Log-normal shape.
    var sigma = 0.25
    /// Requests each serves at once; more wait in a FIFO queue.
    var concurrency = 64

    /// One backend of this model.
    func backend(
        median: Double? = nil, weight: Double = 1,
        behaviour: @escaping @Sendable (Double) -> SimulatedBackend.Behaviour = { _ in .normal }
    ) -> SimulatedBackend {
        SimulatedBackend(
            median: median ?? self.median, sigma: sigma, concurrency: concurrency, weight: weight, behaviour: behaviour)
    }

    /// The first backend behaving as `behaviour`, the others normally.
    func oneOf(_ behaviour: @escaping @Sendable (Double) -> SimulatedBackend.Behaviour) -> [SimulatedBackend] {
        [backend(behaviour: behaviour)] + Array(repeating: backend(), count: count - 1)
    }
}
