import ArgumentParser
import Hummingbird
import Logging
import NIOPosix
import ServiceLifecycle
import ShoalAdmin
import ShoalBalancing
import ShoalCore
import ShoalDiscovery
import ShoalGateway
import ShoalLock

#if canImport(Glibc)
    import Glibc
#endif

/// `shoal demo`: the whole system on loopback, with nothing to install.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Show the gateway, registry and balancer at work on five sample services.",
        discussion: """
            Starts the registry, its health checks and the gateway in this process, and five \
            sample HTTP services on loopback (2 to 5 ms each; svc-3 fails 10% of requests). \
            Clients send requests through the gateway for --duration while it shows requests/s, \
            latency, errors and each instance's share. A third of the way in, svc-5 is killed; \
            half way, svc-2 becomes ten times slower. It ends with a summary table.

            On a terminal the view redraws in place; otherwise (or with --plain) it prints one \
            line a second. Exit codes: 0 done, 1 failed to start, 2 bad usage.
            """
    )

    @Option(help: "How long to send traffic, such as 20s.")
    var duration = "20s"

    @Option(help: "Concurrent clients, each sending one request at a time.")
    var clients = 8

    @Flag(help: "Print plain lines, not a redrawn view.")
    var plain = false

    @Option(help: "The dashboard's port on 127.0.0.1 (0 picks a free one).")
    var dashboardPort = 0

    func run() async throws {
        let duration = try DurationParsing.parse(self.duration, flag: "--duration")
        guard duration >= .seconds(3), duration <= .seconds(3600) else {
            throw UsageError("--duration must be between 3s and 1h, not \(self.duration)")
        }
        guard (1...256).contains(clients) else { throw UsageError("--clients must be in 1...256, not \(clients)") }
        guard (0...65535).contains(dashboardPort) else {
            throw UsageError("--dashboard-port must be in 0...65535, not \(dashboardPort)")
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let samples = DemoInstances.all.map {
            SampleService(name: $0.name, latency: $0.latency, failureRate: $0.failureRate)
        }
        var ports: [Int] = []
        for service in samples {
            let channel = try await service.start(host: "127.0.0.1", port: 0, group: group)
            ports.append(channel.localAddress?.port ?? 0)
        }
        let registry = EmbeddedRegistry()
        let checker = HealthChecker(registry: registry)
        for (sample, port) in zip(DemoInstances.all, ports) {
            let instance = try ServiceInstance(service: "demo", id: sample.name, address: "127.0.0.1", port: port)
            _ = try await registry.register(instance, ttl: .seconds(3600))
            checker.check(
                instance, with: try HealthCheck(.http(path: "/health"), interval: .milliseconds(500), fall: 2, rise: 2))
        }
        let route = try GatewayRoute(prefix: "/", service: "demo")
        let gateway = Gateway(
            configuration: try GatewayConfiguration(port: 0, threads: 1, routes: try RouteTable([route])),
            discovery: registry)
        var logger = Logger(label: "shoal-demo")
        logger.logLevel = .critical
        // The admin listener, as `shoal serve` has it, for the dashboard.
        let (dashboardPorts, boundDashboard) = AsyncStream.makeStream(of: Int.self)
        let admin = Application(
            router: AdminRouter.make(
                registry: registry, checker: checker, locks: EmbeddedLock(), gateway: gateway, tokens: AdminTokens()),
            configuration: .init(address: .hostname("127.0.0.1", port: dashboardPort), serverName: "shoal"),
            onServerRunning: { channel in
                boundDashboard.yield(channel.localAddress?.port ?? 0)
                boundDashboard.finish()
            }, logger: logger)
        let services = ServiceGroup(
            services: [registry, checker, gateway, admin], gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        let view = DemoView(interactive: !plain && isatty(STDOUT_FILENO) == 1, names: DemoInstances.all.map(\.name))
        let serving = Task {
            defer { boundDashboard.finish() }
            try await services.run()
        }
        let port = try await gateway.boundPort()
        var dashboard: Int?
        for await bound in dashboardPorts {
            dashboard = bound
            break
        }
        guard let dashboard else {
            try? await serving.value
            for service in samples { service.stop() }
            try? await group.shutdownGracefully()
            throw RuntimeFailure(
                "the dashboard cannot listen on 127.0.0.1:\(dashboardPort); choose another --dashboard-port")
        }
        view.start(
            port: port, dashboard: dashboard, clients: clients, duration: duration, strategy: route.strategy.name)
        let stats = DemoStats()
        let traffic = Task { await DemoTraffic.run(clients: clients, port: port, group: group, stats: stats) }
        let story = DemoStory(duration: duration, samples: samples)
        let start = ContinuousClock.now
        var second = 0
        while ContinuousClock.now - start < duration {
            second += 1
            try? await Task.sleep(until: start + .seconds(second))
            let elapsed = ContinuousClock.now - start
            for event in story.events(until: elapsed) { view.event(event) }
            view.second(second, stats.takeWindow())
        }
        traffic.cancel()
        await traffic.value
        view.summary(stats.all, story: story, counters: gateway.counters)
        await services.triggerGracefulShutdown()
        try? await serving.value
        for service in samples { service.stop() }
        try? await group.shutdownGracefully()
    }
}

/// The five sample instances.
enum DemoInstances {
    struct Instance {
        let name: String
        let latency: Duration
        let failureRate: Double
    }

    static let all = [
        Instance(name: "svc-1", latency: .milliseconds(2), failureRate: 0),
        Instance(name: "svc-2", latency: .milliseconds(4), failureRate: 0),
        Instance(name: "svc-3", latency: .milliseconds(3), failureRate: 0.1),
        Instance(name: "svc-4", latency: .milliseconds(5), failureRate: 0),
        Instance(name: "svc-5", latency: .milliseconds(3), failureRate: 0),
    ]
    static let killed = 4  // svc-5
    static let slowed = 1  // svc-2
}

/// What happens to the instances, and when.
final class DemoStory {
    let killAt: Duration
    let slowAt: Duration
    private let samples: [SampleService]
    private(set) var killed = false
    private(set) var slowed = false

    init(duration: Duration, samples: [SampleService]) {
        killAt = duration / 3
        slowAt = duration / 2
        self.samples = samples
    }

    /// The events due by `elapsed`, each done as it is returned.
    func events(until elapsed: Duration) -> [String] {
        var events: [String] = []
        if !killed && elapsed >= killAt {
            killed = true
            samples[DemoInstances.killed].stop()
            events.append("killed \(DemoInstances.all[DemoInstances.killed].name) (listener and connections closed)")
        }
        if !slowed && elapsed >= slowAt {
            slowed = true
            let instance = DemoInstances.all[DemoInstances.slowed]
            let slower = instance.latency * 10
            samples[DemoInstances.slowed].latencyNanoseconds.store(slower.totalNanoseconds, ordering: .relaxed)
            let milliseconds = { (duration: Duration) in Int((duration.seconds * 1000).rounded()) }
            events.append(
                "slowed \(instance.name) from \(milliseconds(instance.latency)) ms to \(milliseconds(slower)) ms")
        }
        return events
    }
}
