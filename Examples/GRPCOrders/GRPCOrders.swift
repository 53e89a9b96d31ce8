import ArgumentParser
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Logging
import ServiceLifecycle
import ShoalClient
import ShoalDiscovery
import ShoalGRPC

/// A gRPC service and a client that calls it by name, through a running `shoal serve`:
///
/// ```
/// shoal serve --admin 127.0.0.1:8081 &
/// swift run grpc-orders server --name orders-1 &
/// swift run grpc-orders server --name orders-2 &
/// swift run grpc-orders client --calls 6
/// ```
///
/// With `--gateway HOST:PORT`, the client calls through `shoal serve`'s gateway instead (a
/// route with `protocol: h2c` for `/shoal.example.Orders`), which balances each call.
///
/// Each server listens on a port of its own choosing, registers itself in the registry as an
/// instance of `orders` (renewing, and deregistering on SIGTERM before it stops serving). The
/// client finds the instances by the service's name and balances each call over them with
/// ``ShoalGRPC/ShoalClientTransport`` (hot-cold, its default): no address in its configuration.
@main
struct GRPCOrders: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grpc-orders", abstract: "A gRPC service and a client that calls it by name through a shoal serve.")

    enum Role: String, ExpressibleByArgument {
        case server, client
    }

    @Argument(help: "server (serves Orders and registers it) or client (calls Orders by name).")
    var role: Role

    @Option(help: "The admin address of a running shoal serve.")
    var registry: String = "http://127.0.0.1:8081"

    @Option(help: "The bearer token of the shoal serve, if it has one.")
    var token: String?

    @Option(help: "The server's instance id, which it gives back in each answer.")
    var name: String = "orders-1"

    @Option(help: "The port the server listens on (0: any free one).")
    var port: Int = 0

    @Option(help: "How many Get calls the client makes.")
    var calls: Int = 6

    @Option(help: "Call through this gateway (HOST:PORT of shoal serve's listener) instead of by name.")
    var gateway: String?

    func run() async throws {
        let registryClient = HTTPRegistryClient(server: registry, token: token)
        do {
            switch role {
            case .server: try await serve(registryClient)
            case .client: try await call(registryClient)
            }
        } catch {
            await registryClient.shutdown()
            throw error
        }
        await registryClient.shutdown()
    }

    /// Serves `Orders` until SIGTERM or SIGINT, registered while it serves.
    func serve(_ registryClient: HTTPRegistryClient) async throws {
        let server = GRPCServer(
            transport: .http2NIOPosix(address: .ipv4(host: "127.0.0.1", port: port), transportSecurity: .plaintext),
            services: [OrdersService(name: name)])
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await server.serve() }
            guard let address = try await server.listeningAddress?.ipv4 else {
                throw ValidationError("the server did not start listening")
            }
            FileHandle.standardError.write(Data("\(name) listening on 127.0.0.1:\(address.port)\n".utf8))
            let registration = Registration(
                registry: registryClient,
                instance: try ServiceInstance(service: "orders", id: name, address: "127.0.0.1", port: address.port),
                ttl: .seconds(10))
            // SIGTERM: deregistered first, then the server finishes its calls and stops.
            let group = ServiceGroup(
                services: [registration], gracefulShutdownSignals: [.sigterm, .sigint],
                logger: Logger(label: "grpc-orders"))
            try await group.run()
            server.beginGracefulShutdown()
            FileHandle.standardError.write(Data("\(name) stopped\n".utf8))
        }
    }

    /// Calls `Get` `calls` times and `Watch` once, each call to the instance Shoal picks:
    /// here, or in the gateway.
    func call(_ registryClient: HTTPRegistryClient) async throws {
        if let gateway {
            let parts = gateway.split(separator: ":")
            guard parts.count == 2, let port = Int(parts[1]) else {
                throw ValidationError("--gateway must be HOST:PORT, not '\(gateway)'")
            }
            let transport = try HTTP2ClientTransport.Posix(
                target: .dns(host: String(parts[0]), port: port), transportSecurity: .plaintext)
            try await withGRPCClient(transport: transport) { try await Self.makeCalls(calls, $0) }
        } else {
            let transport = ShoalClientTransport(service: "orders", discovery: registryClient)
            try await withGRPCClient(transport: transport) { try await Self.makeCalls(calls, $0) }
        }
    }

    static func makeCalls<Transport: ClientTransport>(_ calls: Int, _ client: GRPCClient<Transport>) async throws {
        let orders = Shoal_Example_Orders.Client(wrapping: client)
        for index in 1...max(calls, 1) {
            var request = Shoal_Example_GetOrderRequest()
            request.id = "order-\(index)"
            let order = try await orders.get(request)
            print("\(order.id) \(order.status), served by \(order.servedBy)")
        }
        var request = Shoal_Example_GetOrderRequest()
        request.id = "order-1"
        try await orders.watch(request) { response in
            for try await order in response.messages {
                print("watch \(order.id): \(order.status) (\(order.servedBy))")
            }
        }
    }
}
