/// A simulated backend: how long it takes, how many requests it serves at once, and how it
/// misbehaves over time.
struct SimulatedBackend {
    /// Median service time in seconds (log-normal).
    var median: Double
    /// Log-normal shape.
    var sigma: Double = 0.25
    /// Requests served at once; more wait in a FIFO queue.
    var concurrency: Int = 64
    /// The balancing weight given to the endpoint.
    var weight: Double = 1
    /// What the backend does at a time (seconds since the start).
    var behaviour: @Sendable (Double) -> Behaviour = { _ in .normal }

    enum Behaviour {
        case normal
        /// Service times multiplied by the factor.
        case slow(Double)
        /// This share of requests (0...1) answered with a server error after 2 ms, without
        /// queueing; the rest served normally.
        case failing(Double)
    }
}

/// A named set of backends, after Linkerd's "Beyond Round Robin": 11 backends with a median
/// latency of about 170 ms.
struct Scenario {
    var name: String
    var summary: String
    var backends: [SimulatedBackend]

    static let median = 0.170

    static let builtIn: [Scenario] = [
        Scenario(
            name: "healthy", summary: "11 equal backends",
            backends: Array(repeating: SimulatedBackend(median: median), count: 11)),
        Scenario(
            name: "one-slow", summary: "one backend 10× slower for the whole run",
            backends: [SimulatedBackend(median: median, behaviour: { _ in .slow(10) })]
                + Array(repeating: SimulatedBackend(median: median), count: 10)),
        Scenario(
            name: "one-failing", summary: "one backend answers every request with an error",
            backends: [SimulatedBackend(median: median, behaviour: { _ in .failing(1) })]
                + Array(repeating: SimulatedBackend(median: median), count: 10)),
        Scenario(
            name: "one-flaky", summary: "one backend answers 20 % of requests with an error",
            backends: [SimulatedBackend(median: median, behaviour: { _ in .failing(0.2) })]
                + Array(repeating: SimulatedBackend(median: median), count: 10)),
        Scenario(
            name: "flapping", summary: "one backend fails for 10 s, works for 10 s, and so on",
            backends: [SimulatedBackend(median: median, behaviour: { Int($0 / 10) % 2 == 1 ? .failing(1) : .normal })]
                + Array(repeating: SimulatedBackend(median: median), count: 10)),
        Scenario(
            name: "heterogeneous", summary: "3 backends twice as fast (weight 2), 8 at normal speed (weight 1)",
            backends: Array(repeating: SimulatedBackend(median: median / 2, weight: 2), count: 3)
                + Array(repeating: SimulatedBackend(median: median), count: 8)),
    ]
}
