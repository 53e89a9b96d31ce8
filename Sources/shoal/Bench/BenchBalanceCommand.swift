import ArgumentParser
import Foundation
import ShoalBalancing

/// `shoal bench balance`: every balancing strategy in simulated scenarios.
struct BenchBalanceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "balance",
        abstract: "Simulate every balancing strategy on the same arrivals, in virtual time.",
        discussion: """
            A seeded discrete-event simulation: Poisson arrivals, backends with log-normal \
            service times (median 170 ms) serving up to 64 requests at once each, per-try \
            timeouts, and retries to a different endpoint within a retry budget (20 % of \
            requests plus 10 a second). The real LoadBalancer picks, with its default outlier \
            detection and panic threshold, reading a clock the simulation moves. The same \
            seed gives the same result.

            Scenarios: healthy, one-slow (one backend 10× slower), one-failing (one backend \
            answers every request with an error), one-flaky (one backend fails 20 % of \
            requests), flapping (one backend fails for 10 s, works for 10 s), heterogeneous \
            (3 backends in 11 twice as fast, weighted 2).

            --backends, --median, --sigma and --concurrency change every scenario's backends. \
            --connections runs a closed loop instead, as wrk does. --overhead, the stalls and \
            --wrk-correction make its figures comparable with wrk's through a real proxy on a \
            busy machine: Benchmarks/peers/slow-backend --simulate sets them beside its own.
            """
    )

    @Option(name: .customLong("scenario"), help: "A scenario to run; repeat for several (default: all).")
    var scenarios: [String] = []

    @Option(name: .customLong("strategy"), help: "A strategy to run; repeat for several (default: all).")
    var strategies: [String] = []

    @Option(help: "Virtual seconds of arrivals.")
    var duration: Double = 120

    @Option(help: "Mean requests per second.")
    var rate: Double = 300

    @Option(name: .customLong("per-try-timeout"), help: "Seconds before a try is abandoned and retried.")
    var perTryTimeout: Double = 5

    @Option(help: "Tries per request, the first included.")
    var tries: Int = 3

    @Option(help: "Seed for arrivals and random choices.")
    var seed: UInt64 = 1

    @Option(help: "Backends in each scenario.")
    var backends: Int = 11

    @Option(help: "Median service time of a backend, in milliseconds (log-normal).")
    var median: Double = 170

    @Option(help: "Log-normal shape of service times.")
    var sigma: Double = 0.25

    @Option(help: "Requests a backend serves at once; the rest wait in a queue.")
    var concurrency: Int = 64

    @Option(
        help:
            "Closed loop: this many clients, each sending its next request when its last is answered (as wrk does); --rate is then unused."
    )
    var connections: Int?

    @Option(help: "Milliseconds each try spends outside the backend (proxy and network).")
    var overhead: Double = 0

    @Option(
        name: .customLong("stall-probability"),
        help: "The share of tries (0...1) that stall outside the backend, as on a busy machine.")
    var stallProbability: Double = 0

    @Option(name: .customLong("stall-mean"), help: "The mean stall, in milliseconds (exponential).")
    var stallMean: Double = 0

    @Flag(
        name: .customLong("wrk-correction"),
        help: "With --connections: percentiles corrected for coordinated omission, as wrk prints them.")
    var wrkCorrection = false

    @Flag(help: "Print one JSON object instead of tables.")
    var json = false

    func run() async throws {
        let scenarios = try selectedScenarios()
        let strategies = try selectedStrategies()
        guard duration.isFinite, duration > 0, duration <= 86_400 else {
            throw UsageError("--duration must be a number of seconds in (0, 86400], not \(duration)")
        }
        guard rate.isFinite, rate > 0, rate * duration <= 10_000_000 else {
            throw UsageError("--rate must be > 0, with at most 10 million requests in the run, not \(rate)")
        }
        guard perTryTimeout.isFinite, perTryTimeout > 0 else {
            throw UsageError("--per-try-timeout must be a positive number of seconds, not \(perTryTimeout)")
        }
        guard (1...10).contains(tries) else {
            throw UsageError("--tries must be in 1...10, not \(tries)")
        }
        try validateLoop()
        let settings = SimulationSettings(
            duration: duration, rate: rate, connections: connections, overhead: overhead / 1e3,
            stallProbability: stallProbability, stallMean: stallMean / 1e3, wrkCorrection: wrkCorrection,
            perTryTimeout: perTryTimeout, maxTries: tries, seed: seed)
        var results: [(Scenario, [StrategyResult])] = []
        var progress = ProgressBar(label: "simulating", total: scenarios.count * strategies.count)
        for scenario in scenarios {
            let simulation = BalanceSimulation(scenario: scenario, settings: settings)
            let arrivals = simulation.arrivals()
            var row: [StrategyResult] = []
            for strategy in strategies {
                row.append(try simulation.run(strategy, arrivals: arrivals))
                progress.update(results.count * strategies.count + row.count)
            }
            results.append((scenario, row))
        }
        progress.finish()
        var output = StandardOutput()
        try output.append(json ? Self.json(results) : Self.tables(results, settings: settings))
        try output.flush()
    }

    func selectedScenarios() throws(UsageError) -> [Scenario] {
        let builtIn = try Scenario.builtIn(backendModel())
        if scenarios.isEmpty { return builtIn }
        return try scenarios.map { (name) throws(UsageError) in
            guard let scenario = builtIn.first(where: { $0.name == name }) else {
                let names = builtIn.map(\.name).joined(separator: ", ")
                throw UsageError("--scenario '\(name)' is not one of \(names)")
            }
            return scenario
        }
    }

    func selectedStrategies() throws(UsageError) -> [BalancingStrategy] {
        if strategies.isEmpty { return BalancingStrategy.allDefaults }
        return try strategies.map { (name) throws(UsageError) in
            guard let strategy = BalancingStrategy(name: name) else {
                let names = BalancingStrategy.allDefaults.map(\.name).joined(separator: ", ")
                throw UsageError("--strategy '\(name)' is not one of \(names)")
            }
            return strategy
        }
    }
}
