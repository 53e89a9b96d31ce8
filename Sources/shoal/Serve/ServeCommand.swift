import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import ShoalAdmin
import ShoalCore
import ShoalDiscovery
import ShoalRedis

/// `shoal serve`: the registry (and, later, the gateway) for services in any language.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the service registry and its HTTP API (the gateway joins later).",
        discussion: """
            The registry is in memory unless --redis (or SHOAL_REDIS_URL) names a Redis \
            server, which several `shoal serve` processes may share. The admin API \
            (registry, health) listens on --admin. With --token (or SHOAL_TOKEN) every /v1 \
            request must carry `Authorization: Bearer <token>`. An admin address that is not \
            loopback needs a token, or --insecure. SIGTERM or SIGINT stops it cleanly.

            Exit codes: 0 stopped by a signal, 1 failed while running (say the admin port \
            is taken), 2 bad usage.
            """
    )

    @Option(help: "Where the admin API listens, HOST:PORT.")
    var admin: String = "127.0.0.1:8081"

    /// Where the registry is kept; in memory when neither flag nor SHOAL_REDIS_URL is given.
    @OptionGroup var redisOptions: RedisOptions

    @Option(help: "Require this bearer token on /v1 requests. Default: $SHOAL_TOKEN.")
    var token: String?

    @Flag(help: "Allow a non-loopback admin address without a token.")
    var insecure = false

    @Option(help: "The gateway's listener (accepted for the gateway to come; unused now).")
    var listen: String?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let (host, port) = try adminAddress()
        let token = token ?? environment["SHOAL_TOKEN"]
        if token?.isEmpty == true { throw UsageError("--token must not be empty") }
        if token == nil && !insecure && !Self.isLoopback(host) {
            throw UsageError(
                "--admin \(admin) is not a loopback address: give --token (or SHOAL_TOKEN) so the registry API is not open to the network, or --insecure to allow it"
            )
        }
        let registry: any ServiceRegistry & ServiceDiscovery & Service
        if let configuration = try redisOptions.configurationIfGiven() {
            registry = RedisRegistry(configuration: configuration)
        } else {
            registry = EmbeddedRegistry()
        }
        let checker = HealthChecker(registry: registry)
        let router = Router()
        if let token { router.add(middleware: BearerTokenMiddleware(token: token)) }
        RegistryAPI(registry: registry, checker: checker).addRoutes(to: router)
        var logger = Logger(label: "shoal")
        logger.logLevel = .warning
        let backend = registry is RedisRegistry ? "Redis" : "memory"
        let application = Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: "shoal"),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port.map(String.init) ?? String(port)
                StandardError.write("shoal: registry API on http://\(host):\(bound) (state in \(backend))\n")
            }, logger: logger)
        let group = ServiceGroup(
            services: [registry, checker, application], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        do {
            try await group.run()
        } catch {
            throw RuntimeFailure("serve stopped: \(error)")
        }
    }

    private func adminAddress() throws(UsageError) -> (String, Int) {
        guard let colon = admin.lastIndex(of: ":"), let port = Int(admin[admin.index(after: colon)...]),
            (0...65535).contains(port)
        else {
            throw UsageError("--admin must be HOST:PORT, such as 127.0.0.1:8081, not '\(admin)'")
        }
        var host = String(admin[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw UsageError("--admin must name a host, such as 127.0.0.1:8081") }
        return (host, port)
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}
