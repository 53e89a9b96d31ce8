import GRPCCore
import GRPCNIOTransportHTTP2Posix
import ShoalDiscovery
import ShoalGRPC
import Testing

/// Bytes in, bytes out: a message as it is, so that the tests need no generated code.
struct RawBytes: MessageSerializer, MessageDeserializer {
    func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes { Bytes(message) }
    func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> [UInt8] {
        serializedMessageBytes.withUnsafeBytes { Array($0) }
    }
}

/// A gRPC service with one unary method, `shoal.test.Name/Get`, that answers with its name,
/// after `delay`.
struct NameService: RegistrableRPCService {
    static let get = MethodDescriptor(fullyQualifiedService: "shoal.test.Name", method: "Get")
    let name: String
    var delay: Duration = .zero

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        router.registerHandler(forMethod: Self.get, deserializer: RawBytes(), serializer: RawBytes()) {
            _, _ in
            if delay > .zero { try await Task.sleep(for: delay) }
            return StreamingServerResponse(single: ServerResponse(message: Array(name.utf8)))
        }
    }
}

@Suite("shoal:/// targets: gRPC calls to a service by its name in the registry")
struct ShoalNameResolverTests {
    /// Runs a gRPC server named `name` on a free port until `body` returns; `body` gets the port.
    static func withServer<T: Sendable>(
        _ name: String, delay: Duration = .zero, _ body: @Sendable (Int) async throws -> T
    ) async throws -> T {
        let server = GRPCServer(
            transport: .http2NIOPosix(address: .ipv4(host: "127.0.0.1", port: 0), transportSecurity: .plaintext),
            services: [NameService(name: name, delay: delay)])
        return try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await server.serve() }
            guard let address = try await server.listeningAddress?.ipv4 else {
                throw RPCError(code: .internalError, message: "the server did not listen")
            }
            defer { server.beginGracefulShutdown() }
            return try await body(address.port)
        }
    }

    /// Round robin over the instances, and a call that finds its connection closing (the
    /// instance just left the list) tried again: a stream that never reached a server is
    /// safe to repeat, and grpc-swift-2 does not repeat it by itself.
    static let serviceConfig = ServiceConfig(
        methodConfig: [
            MethodConfig(
                names: [MethodConfig.Name(service: "")],
                executionPolicy: .retry(
                    RetryPolicy(
                        maxAttempts: 3, initialBackoff: .milliseconds(10), maxBackoff: .milliseconds(100),
                        backoffMultiplier: 2, retryableStatusCodes: [.unavailable])))
        ],
        loadBalancingConfig: [.roundRobin])

    /// Calls `Get` `count` times through `client`: the names that answered.
    static func names<Transport: ClientTransport>(_ client: GRPCClient<Transport>, count: Int) async throws -> [String] {
        var names: [String] = []
        for _ in 0..<count {
            let bytes = try await client.unary(
                request: ClientRequest(message: []), descriptor: NameService.get, serializer: RawBytes(),
                deserializer: RawBytes(), options: .defaults
            ) { try $0.message }
            names.append(String(decoding: bytes, as: UTF8.self))
        }
        return names
    }

    @Test("calls go to the service's instances, follow a new one (by host name), and leave one that deregisters or fails")
    func followsTheRegistry() async throws {
        let registry = EmbeddedRegistry()
        try await Self.withServer("a") { portA in
            try await Self.withServer("b") { portB in
                _ = try await registry.register(
                    ServiceInstance(service: "names", id: "a", address: "127.0.0.1", port: portA), ttl: .seconds(60))
                var resolvers = NameResolverRegistry.defaults
                resolvers.registerFactory(ShoalNameResolverFactory())
                let transport = try HTTP2ClientTransport.Posix(
                    target: .shoal("names", discovery: registry), transportSecurity: .plaintext,
                    resolverRegistry: resolvers, serviceConfig: Self.serviceConfig)
                try await withGRPCClient(transport: transport) { client in
                    #expect(Set(try await Self.names(client, count: 4)) == ["a"])
                    // "localhost" is looked up: an instance registered by name is reached too.
                    _ = try await registry.register(
                        ServiceInstance(service: "names", id: "b", address: "localhost", port: portB), ttl: .seconds(60))
                    var seen: Set<String> = []
                    for _ in 0..<50 where seen.count < 2 {
                        seen.formUnion(try await Self.names(client, count: 4))
                        try await Task.sleep(for: .milliseconds(50))
                    }
                    #expect(seen == ["a", "b"])
                    _ = try await registry.deregister(service: "names", id: "a")
                    var last: [String] = []
                    for _ in 0..<50 {
                        last = try await Self.names(client, count: 6)
                        if Set(last) == ["b"] { break }
                        try await Task.sleep(for: .milliseconds(50))
                    }
                    #expect(Set(last) == ["b"])
                    // An instance that fails its checks is left out too.
                    _ = try await registry.register(
                        ServiceInstance(service: "names", id: "a", address: "127.0.0.1", port: portA), ttl: .seconds(60))
                    _ = try await registry.setHealth(.critical, service: "names", id: "b")
                    for _ in 0..<50 {
                        last = try await Self.names(client, count: 6)
                        if Set(last) == ["a"] { break }
                        try await Task.sleep(for: .milliseconds(50))
                    }
                    #expect(Set(last) == ["a"])
                }
            }
        }
    }
}
