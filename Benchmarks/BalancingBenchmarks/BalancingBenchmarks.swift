import Benchmark
import Dispatch
import ShoalBalancing
import ShoalCore

// The cost of one pick plus its report, for every strategy, at 10, 100 and 1000 endpoints,
// on one thread and on two threads (each with its own picker, sharing the balancer).
// The "2 threads" figures are wall-clock time per pick: below the 1-thread figure means two
// threads together pick faster than one.
//
//   SHOAL_BENCHMARKS=1 swift package --scratch-path .build-benchmarks benchmark --target BalancingBenchmarks

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        scalingFactor: .kilo,
        maxDuration: .seconds(1)
    )
    let keys = (0..<1024).map { "session:\($0)" }
    let success = PickOutcome.success(latency: .milliseconds(3))

    for strategy in BalancingStrategy.allDefaults {
        let sticky = strategy.name == "ringHash" || strategy.name == "maglev"
        for count in [10, 100, 1000] {
            let endpoints = (0..<count).map { try! Endpoint(host: "10.0.\($0 / 250).\($0 % 250)", port: 8080) }
            let balancer = try! LoadBalancer(endpoints: endpoints, strategy: strategy)

            Benchmark(
                "\(strategy.name), \(count) endpoints, 1 thread", configuration: .init(scalingFactor: .mega)
            ) { benchmark in
                let picker = balancer.makePicker(seed: 1)
                for iteration in benchmark.scaledIterations {
                    let pick = try! picker.pick(key: sticky ? keys[iteration & 1023] : nil)
                    pick.finish(success)
                }
            }

            // A million picks a sample, so that waking the second thread costs under 0.1 ns a pick.
            Benchmark(
                "\(strategy.name), \(count) endpoints, 2 threads", configuration: .init(scalingFactor: .mega)
            ) { benchmark in
                let perThread = benchmark.scaledIterations.count / 2
                DispatchQueue.concurrentPerform(iterations: 2) { thread in
                    let picker = balancer.makePicker(seed: UInt64(thread + 1))
                    for iteration in 0..<perThread {
                        let pick = try! picker.pick(key: sticky ? keys[iteration & 1023] : nil)
                        pick.finish(success)
                    }
                }
            }
        }
    }

    // What one changed instance costs a balancer that follows a service: `update` with one
    // endpoint's weight changed, the others kept with their statistics.
    for strategy in [BalancingStrategy.standard, .leastRequest(), .maglev()] {
        for count in [100, 10_000] {
            let endpoints = (0..<count).map {
                try! Endpoint(host: "10.\($0 / 62500).\($0 / 250 % 250).\($0 % 250)", port: 8080)
            }
            let balancer = try! LoadBalancer(endpoints: endpoints, strategy: strategy)
            var changed = endpoints
            Benchmark(
                "update, \(strategy.name), \(count) endpoints, one changed", configuration: .init(scalingFactor: .one)
            ) { benchmark in
                for iteration in benchmark.scaledIterations {
                    changed[iteration % count] = try! Endpoint(
                        host: endpoints[iteration % count].host, port: 8080, weight: Double(iteration % 3 + 1))
                    try! balancer.update(endpoints: changed)
                }
            }
            // One instance leaves from the middle, then comes back.
            Benchmark(
                "update, \(strategy.name), \(count) endpoints, one removed or added",
                configuration: .init(scalingFactor: .one)
            ) { benchmark in
                var without = endpoints
                without.remove(at: count / 2)
                for iteration in benchmark.scaledIterations {
                    try! balancer.update(endpoints: iteration % 2 == 0 ? without : endpoints)
                }
            }
        }
    }
}
