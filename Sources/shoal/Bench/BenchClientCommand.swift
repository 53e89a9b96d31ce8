import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOPosix
import ShoalClient
import ShoalCore
import ShoalDiscovery

/// `shoal bench client`: what a call through ServiceClient costs over a plain
/// AsyncHTTPClient call to the same instance.
struct BenchClientCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "client",
        abstract: "Measure ServiceClient's overhead per call against a plain AsyncHTTPClient call.",
        discussion: """
            Starts a sample HTTP service in this process (its own event-loop thread), registers \
            it in an embedded registry, and times sequential GETs on one keep-alive connection: \
            plain AsyncHTTPClient calls to its URL, and ServiceClient calls by service name \
            through the same HTTPClient. --rounds rounds of --calls calls each, the two kinds \
            alternating which goes first. Prints each kind's time per call (mean, p50, p99) and \
            the ratio.
            """
    )

    @Option(help: "Calls of each kind per round.")
    var calls: Int = 2000

    @Option(help: "Rounds.")
    var rounds: Int = 10

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() async throws {
        guard (1...1_000_000).contains(calls), (1...1000).contains(rounds) else {
            throw UsageError("--calls must be in 1...1000000 and --rounds in 1...1000")
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let sample = SampleService(name: "bench", latency: .zero, failureRate: 0)
        let channel = try await sample.start(host: "127.0.0.1", port: 0, group: group)
        let port = channel.localAddress?.port ?? 0
        let registry = EmbeddedRegistry()
        _ = try await registry.register(
            try ServiceInstance(service: "bench", id: "one", address: "127.0.0.1", port: port), ttl: .seconds(3600))
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        let client = ServiceClient(discovery: registry, httpClient: http)
        let url = "http://127.0.0.1:\(port)/"

        func plain() async throws {
            let response = try await http.execute(HTTPClientRequest(url: url), timeout: .seconds(5))
            _ = try await response.body.collect(upTo: 1 << 16)
        }
        func byName() async throws {
            let response = try await client.get(service: "bench", "/")
            _ = try await response.body.collect(upTo: 1 << 16)
        }
        func timed(_ call: () async throws -> Void, into samples: inout [Double]) async throws {
            for _ in 0..<calls {
                let start = ContinuousClock.now
                try await call()
                samples.append((ContinuousClock.now - start).seconds * 1e6)
            }
        }
        for _ in 0..<min(calls, 500) {  // warm up: connections, the service's balancer
            try await plain()
            try await byName()
        }
        var plainSamples: [Double] = []
        var clientSamples: [Double] = []
        for round in 0..<rounds {
            if round % 2 == 0 {
                try await timed(plain, into: &plainSamples)
                try await timed(byName, into: &clientSamples)
            } else {
                try await timed(byName, into: &clientSamples)
                try await timed(plain, into: &plainSamples)
            }
        }
        await client.shutdown()
        try await http.shutdown()
        sample.stop()
        try await group.shutdownGracefully()
        report(plain: plainSamples.sorted(), client: clientSamples.sorted())
    }

    private func report(plain: [Double], client: [Double]) {
        func mean(_ values: [Double]) -> Double { values.reduce(0, +) / Double(values.count) }
        let figures: [(String, [Double])] = [("AsyncHTTPClient, by URL", plain), ("ServiceClient, by name", client)]
        let ratio = mean(client) / mean(plain)
        if json {
            let object: [String: Any] = [
                "plain_mean_us": mean(plain), "plain_p50_us": nearestRankQuantile(plain, 0.5),
                "plain_p99_us": nearestRankQuantile(plain, 0.99), "client_mean_us": mean(client),
                "client_p50_us": nearestRankQuantile(client, 0.5), "client_p99_us": nearestRankQuantile(client, 0.99),
                "ratio": ratio, "calls": plain.count,
            ]
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print("\(plain.count) sequential GETs of each kind on one keep-alive connection, µs per call:")
        print("call                        mean      p50      p99")
        for (name, values) in figures {
            let cells = [mean(values), nearestRankQuantile(values, 0.5), nearestRankQuantile(values, 0.99)]
                .map { String(format: "%8.1f", $0) }.joined(separator: " ")
            print(name.padding(toLength: 24, withPad: " ", startingAt: 0) + "  " + cells)
        }
        print(String(format: "ServiceClient / plain: %.3f× per call (goal ≤ 1.15×)", ratio))
    }
}
