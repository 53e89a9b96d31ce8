import ArgumentParser
import NIOPosix
import ShoalCore

/// `shoal sample-service`: one ``SampleService``, for trying the gateway and for its tests.
struct SampleServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample-service",
        abstract: "Run a small HTTP service to put behind the gateway (as shoal demo does).",
        discussion: """
            Answers every request after --latency, fails --fail-rate of them with 503, \
            streams /download?bytes=N, counts uploaded bytes, and sets its latency on \
            PUT /control/latency?ms=N. With --concurrency N it serves N requests at once and \
            queues the rest in arrival order, so its latency grows with its load (a server \
            with N workers); without it, every request waits --latency however many there \
            are. Prints where it listens; runs until killed.
            """,
        shouldDisplay: false
    )

    @Option(help: "HOST:PORT to listen on (port 0 picks a free one).")
    var listen = "127.0.0.1:0"

    @Option(help: "The name it answers with.")
    var name = "sample"

    @Option(help: "Latency before each answer, such as 5ms.")
    var latency = "0ms"

    @Option(help: "The share of requests answered 503, 0 to 1.")
    var failRate: Double = 0

    @Option(help: "The most requests served at once; more wait their turn (default: no limit).")
    var concurrency: Int?

    func run() async throws {
        guard (0...1).contains(failRate) else { throw UsageError("--fail-rate must be in 0...1, not \(failRate)") }
        if let concurrency, !(1...100_000).contains(concurrency) {
            throw UsageError("--concurrency must be in 1...100000, not \(concurrency)")
        }
        let address: Endpoint
        do {
            address = try Endpoint(parsing: listen)
        } catch {
            throw UsageError("--listen must be HOST:PORT, not '\(listen)'")
        }
        let latency = try DurationParsing.parse(self.latency, flag: "--latency")
        let service = SampleService(name: name, latency: latency, failureRate: failRate, concurrency: concurrency)
        let channel = try await service.start(
            host: address.host, port: address.port, group: MultiThreadedEventLoopGroup.singleton)
        StandardError.write("sample-service \(name) on http://\(address.host):\(channel.localAddress?.port ?? 0)\n")
        try await channel.closeFuture.get()
    }
}
