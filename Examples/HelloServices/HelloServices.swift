import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import ShoalClient
import ShoalDiscovery
import ShoalHummingbird

/// Two Hummingbird services that find each other through a running `shoal serve`:
///
/// ```
/// shoal serve --admin 127.0.0.1:8081 &
/// swift run hello-services backend --registry http://127.0.0.1:8081 &
/// swift run hello-services backend --registry http://127.0.0.1:8081 &
/// swift run hello-services frontend --registry http://127.0.0.1:8081 &
/// curl http://127.0.0.1:PORT/greet     # PORT: the one the frontend printed
/// ```
///
/// Against an admin API over HTTPS with client certificates (`shoal serve --admin-tls-cert
/// … --admin-tls-key … --admin-tls-client-ca ops-ca.pem`), each also takes the CA and its own
/// certificate: `--registry https://127.0.0.1:8081 --registry-ca ca.pem --client-cert
/// ops.pem --client-key ops.key`.
///
/// Each listens on a port of its own choosing (0), registers itself with the port it got,
/// renews, and deregisters on SIGTERM before its listener closes. The frontend calls the
/// backend by name with ``ServiceClient``, balanced across every backend registered.
@main
struct HelloServices: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hello-services", abstract: "Two services calling each other by name through a shoal serve.")

    enum Role: String, ExpressibleByArgument {
        case backend, frontend
    }

    @Argument(help: "backend (answers /hello) or frontend (answers /greet by calling the backend).")
    var role: Role

    @Option(help: "The admin address of a running shoal serve.")
    var registry: String = "http://127.0.0.1:8081"

    @Option(help: "The bearer token of the shoal serve, if it has one.")
    var token: String?

    @Option(help: "For an https:// registry: the CA certificates to trust (PEM).")
    var registryCA: String?

    @Option(help: "For a registry that asks for client certificates: this certificate chain (PEM).")
    var clientCert: String?

    @Option(help: "The private key of --client-cert (PEM).")
    var clientKey: String?

    @Option(help: "The port to listen on (0: any free one).")
    var port: Int = 0

    @Option(help: "The registration's TTL in seconds.")
    var ttl: Int = 10

    @Option(help: "Milliseconds to wait after deregistering before the listener closes.")
    var drainDelay: Int = 0

    func run() async throws {
        var logger = Logger(label: "hello-services")
        logger.logLevel = .warning
        guard registryCA != nil || (clientCert == nil && clientKey == nil) else {
            throw ValidationError("--client-cert and --client-key need --registry-ca, the CA of the registry's certificate")
        }
        let registryClient =
            try registryCA.map {
                try HTTPRegistryClient(
                    server: registry, token: token,
                    trust: AdminTrust(caFile: $0, certificateFile: clientCert, keyFile: clientKey))
            } ?? HTTPRegistryClient(server: registry, token: token)
        let registration = try ApplicationRegistration(
            registry: registryClient, service: role.rawValue, ttl: .seconds(ttl), checkInterval: .seconds(2),
            drainDelay: .milliseconds(drainDelay))
        let router = Router()
        registration.addHealthRoute(to: router)
        var services: [any Service] = []
        switch role {
        case .backend:
            router.get("/hello") { _, _ in
                "hello from \(registration.port.map { "backend on port \($0)" } ?? "backend")\n"
            }
        case .frontend:
            let client = ServiceClient(discovery: registryClient)
            services.append(client)
            router.get("/greet") { _, _ -> String in
                let response = try await client.get(service: "backend", "/hello")
                let body = try await response.body.collect(upTo: 1 << 16)
                return "frontend got: \(String(buffer: body))"
            }
        }
        let role = role
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
            onServerRunning: { channel in
                await registration.serverRunning(channel)
                let port = channel.localAddress?.port ?? 0
                FileHandle.standardError.write(Data("\(role.rawValue) listening on 127.0.0.1:\(port)\n".utf8))
            }, logger: logger)
        // A ServiceGroup shuts down in reverse order: the registration first (deregistered
        // while the server still answers), then the client, then the server.
        let group = ServiceGroup(
            services: [app] + services + [registration], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
        await registryClient.shutdown()
        FileHandle.standardError.write(Data("\(role.rawValue) stopped\n".utf8))
    }
}
