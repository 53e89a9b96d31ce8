import ShoalBalancing
import ShoalCore

/// The settings every strategy and scenario is run with.
struct SimulationSettings {
    /// Virtual seconds of arrivals.
    var duration: Double = 120
    /// Mean arrivals per second (Poisson), when `connections` is `nil`.
    var rate: Double = 300
    /// Closed loop, as `wrk` drives a server: this many clients, each sending its next request
    /// as soon as the last one is answered, for `duration`. `nil`: open loop at `rate`.
    var connections: Int?
    /// Seconds each try spends outside the backend (the proxy and the network), in the
    /// latency the balancer and the client see but not in the backend's slot.
    var overhead: Double = 0
    /// The share of tries (0...1) that stall outside the backend, as a process on a busy
    /// machine is descheduled now and then, and the mean of a stall (exponential), in seconds.
    var stallProbability: Double = 0
    var stallMean: Double = 0
    /// Report percentiles as `wrk` does, corrected for coordinated omission (``WrkCorrection``).
    var wrkCorrection = false
    /// A try not answered within this many seconds is abandoned and may be retried.
    var perTryTimeout: Double = 5
    /// Tries per request, the first included.
    var maxTries: Int = 3
    /// Seeds the arrivals and every strategy's random choices.
    var seed: UInt64 = 1
    var retryBudget = RetryBudget.Configuration()
}

/// What one strategy achieved in one scenario.
struct StrategyResult {
    var name: String
    var p50: Double
    var p99: Double
    var p999: Double
    var successRate: Double
    /// Each backend's share of all tries.
    var shares: [Double]
    var requests: Int
    var retries: Int
    /// Requests answered per virtual second.
    var throughput: Double
}

/// A discrete-event simulation of clients, a balancer and backends, in virtual time: the real
/// ``LoadBalancer`` picks, reading a ``ManualClock`` that the simulation moves from event to
/// event. The same seed gives the same arrivals to every strategy and the same run every time.
struct BalanceSimulation {
    let scenario: Scenario
    let settings: SimulationSettings

    private enum Event {
        case arrival(Int)
        /// The backend has finished the try and frees its slot; the answer reaches the
        /// balancer `overhead` later.
        case served(Int)
        case answer(Int)
        case timeout(Int)
    }

    private struct Request {
        var arrival: Int64
        var tries = 0
        var lastBackend = -1
        var finished = false
    }

    private struct Try {
        var request: Int
        var backend: Int
        var pick: Pick
        var start: Int64
        var failed = false
        var finished = false
    }

    private struct Backend {
        var busy = 0
        var queue: [Int] = []
        var queueHead = 0
    }

    /// Arrival times in nanoseconds: the same for every strategy. In a closed loop, each
    /// connection's first request, a microsecond apart; the rest arrive as answers do.
    func arrivals() -> [Int64] {
        if let connections = settings.connections {
            return (0..<connections).map { Int64($0) * 1_000 }
        }
        var random = SimulationRandom(seed: settings.seed)
        var times: [Int64] = []
        var time = 0.0
        while true {
            time += random.exponential(mean: 1 / settings.rate)
            if time >= settings.duration { return times }
            times.append(Int64(time * 1e9))
        }
    }

    func run(_ strategy: BalancingStrategy, arrivals: [Int64]) throws -> StrategyResult {
        let clock = ManualClock()
        let endpoints = try scenario.backends.enumerated().map { index, backend in
            try Endpoint(host: "10.1.0.\(index)", port: 8080, weight: backend.weight)
        }
        let balancer = try LoadBalancer(endpoints: endpoints, strategy: strategy, clock: clock)
        let picker = balancer.makePicker(seed: settings.seed ^ 0x5EED)
        let budget = RetryBudget(configuration: settings.retryBudget, clock: clock)
        var random = SimulationRandom(seed: settings.seed &* 31 &+ 7)

        var events = EventQueue<Event>()
        var requests = arrivals.map { Request(arrival: $0) }
        var tries: [Try] = []
        var backends = [Backend](repeating: Backend(), count: endpoints.count)
        var latencies: [Double] = []
        latencies.reserveCapacity(arrivals.count)
        var succeeded = 0
        var retries = 0
        var triesPerBackend = [Int](repeating: 0, count: endpoints.count)
        let timeout = Int64(settings.perTryTimeout * 1e9)
        let overhead = Int64(settings.overhead * 1e9)
        /// The time outside the backend for one try.
        func outside() -> Int64 {
            guard settings.stallProbability > 0, random.unit() < settings.stallProbability else { return overhead }
            return overhead + Int64(random.exponential(mean: settings.stallMean) * 1e9)
        }
        let end = Int64(settings.duration * 1e9)
        let closedLoop = settings.connections != nil
        var answered = 0
        for (index, time) in arrivals.enumerated() {
            events.push(.arrival(index), at: time)
        }

        func finishRequest(_ request: Int, at now: Int64, success: Bool) {
            requests[request].finished = true
            if closedLoop {
                // wrk counts what is answered within the run, and the connection sends again.
                guard now <= end else { return }
                let next = requests.count
                requests.append(Request(arrival: now))
                events.push(.arrival(next), at: now)
            }
            answered += 1
            latencies.append(Double(now - requests[request].arrival) / 1e6)
            if success { succeeded += 1 }
        }

        func startService(_ tryIndex: Int, at now: Int64) {
            let backend = tries[tryIndex].backend
            backends[backend].busy += 1
            let model = scenario.backends[backend]
            var median = model.median
            if case .slow(let factor) = model.behaviour(Double(now) / 1e9) { median *= factor }
            let service = random.logNormal(median: median, sigma: model.sigma)
            events.push(.served(tryIndex), at: now + Int64(service * 1e9))
        }

        func send(_ request: Int, at now: Int64) {
            var pick: Pick
            do {
                pick = try picker.pick(key: "request-\(request)")
                // Retries go to a different endpoint when another is eligible.
                var attempts = 0
                while pick.index == requests[request].lastBackend && attempts < 4 {
                    let other = try picker.pick(key: "request-\(request)-\(attempts)")
                    pick.finish(.failure(.cancelled, latency: .zero))
                    pick = other
                    attempts += 1
                }
            } catch {
                finishRequest(request, at: now, success: false)
                return
            }
            requests[request].tries += 1
            requests[request].lastBackend = pick.index
            triesPerBackend[pick.index] += 1
            let tryIndex = tries.count
            tries.append(Try(request: request, backend: pick.index, pick: pick, start: now))
            events.push(.timeout(tryIndex), at: now + timeout)
            let model = scenario.backends[pick.index]
            if case .failing(let rate) = model.behaviour(Double(now) / 1e9), rate >= 1 || random.unit() < rate {
                tries[tryIndex].failed = true
                events.push(.answer(tryIndex), at: now + 2_000_000 + outside())
            } else if backends[pick.index].busy < model.concurrency {
                startService(tryIndex, at: now)
            } else {
                backends[pick.index].queue.append(tryIndex)
            }
        }

        func failed(_ request: Int, at now: Int64) {
            if requests[request].tries < settings.maxTries && budget.tryWithdraw() {
                retries += 1
                send(request, at: now)
            } else {
                finishRequest(request, at: now, success: false)
            }
        }

        while let (time, event) = events.pop() {
            clock.advance(to: MonotonicInstant(nanoseconds: time))
            switch event {
            case .arrival(let request):
                budget.deposit()
                send(request, at: time)
            case .served(let tryIndex):
                let backend = tries[tryIndex].backend
                backends[backend].busy -= 1
                if backends[backend].queueHead < backends[backend].queue.count {
                    let next = backends[backend].queue[backends[backend].queueHead]
                    backends[backend].queueHead += 1
                    startService(next, at: time)
                }
                events.push(.answer(tryIndex), at: time + outside())
            case .answer(let tryIndex):
                guard !tries[tryIndex].finished else { continue }  // the client gave up on it
                tries[tryIndex].finished = true
                let latency = Duration.nanoseconds(time - tries[tryIndex].start)
                let request = tries[tryIndex].request
                if tries[tryIndex].failed {
                    tries[tryIndex].pick.finish(.failure(.serverError, latency: latency))
                    failed(request, at: time)
                } else {
                    tries[tryIndex].pick.finish(.success(latency: latency))
                    finishRequest(request, at: time, success: true)
                }
            case .timeout(let tryIndex):
                guard !tries[tryIndex].finished else { continue }
                tries[tryIndex].finished = true
                tries[tryIndex].pick.finish(.failure(.timeout, latency: .nanoseconds(timeout)))
                failed(tries[tryIndex].request, at: time)
            }
        }

        if settings.wrkCorrection, let connections = settings.connections {
            latencies = WrkCorrection.corrected(
                latencies, intervalMilliseconds: settings.duration * 1e3 / (Double(answered) / Double(connections)))
        }
        latencies.sort()
        func percentile(_ p: Double) -> Double { nearestRankQuantile(latencies, p) }
        let totalTries = max(1, triesPerBackend.reduce(0, +))
        return StrategyResult(
            name: strategy.name, p50: percentile(0.5), p99: percentile(0.99), p999: percentile(0.999),
            successRate: Double(succeeded) / Double(max(1, answered)),
            shares: triesPerBackend.map { Double($0) / Double(totalTries) },
            requests: answered, retries: retries, throughput: Double(answered) / settings.duration)
    }
}
