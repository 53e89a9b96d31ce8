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

/// A named set of backends; the troubled backend, if any, is the first.
struct Scenario {
    var name: String
    var summary: String
    var backends: [SimulatedBackend]

    /// The scenarios, on backends of `model`.
    static func builtIn(_ model: BackendModel = BackendModel()) -> [Scenario] {
        let fast = max(1, model.count * 3 / 11)
        return [
            Scenario(
                name: "healthy", summary: "\(model.count) equal backends",
                backends: Array(repeating: model.backend(), count: model.count)),
            Scenario(
                name: "one-slow", summary: "one backend 10× slower for the whole run",
                backends: model.oneOf { _ in .slow(10) }),
            Scenario(
                name: "one-failing", summary: "one backend answers every request with an error",
                backends: model.oneOf { _ in .failing(1) }),
            Scenario(
                name: "one-flaky", summary: "one backend answers 20 % of requests with an error",
                backends: model.oneOf { _ in .failing(0.2) }),
            Scenario(
                name: "flapping", summary: "one backend fails for 10 s, works for 10 s, and so on",
                backends: model.oneOf { Int($0 / 10) % 2 == 1 ? .failing(1) : .normal }),
            Scenario(
                name: "heterogeneous",
                summary: "\(fast) backends twice as fast (weight 2), \(model.count - fast) at normal speed (weight 1)",
                backends: Array(repeating: model.backend(median: model.median / 2, weight: 2), count: fast)
                    + Array(repeating: model.backend(), count: model.count - fast)),
        ]
    }
}
