// grpc-client-overhead CALLS ROUNDS
//
// What ShoalClientTransport adds to a gRPC call: a grpc-swift-2 server in this process
// (its own event loop thread) answers a unary method with the bytes it got, and two clients
// call it, in alternating rounds of CALLS calls each:
//
// - plain: grpc-swift-2's HTTP/2 transport to the server's address;
// - shoal: ShoalClientTransport, finding the one instance in an EmbeddedRegistry and
//   picking it with Peak EWMA for each call.
//
// Each round is timed one call at a time, then with 16 callers at once. It prints the median
// time per call of each, and the ratios, as JSON on the last line.
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import ShoalDiscovery
import ShoalGRPC

struct Echo: RegistrableRPCService, MessageSerializer, MessageDeserializer {
    static let method = MethodDescriptor(fullyQualifiedService: "bench.Echo", method: "Call")

    func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes { Bytes(message) }
    func deserialize<Bytes: GRPCContiguousBytes>(_ bytes: Bytes) throws -> [UInt8] {
        bytes.withUnsafeBytes { Array($0) }
    }

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        router.registerHandler(forMethod: Self.method, deserializer: self, serializer: self) { request, _ in
            var reply: [UInt8] = []
            for try await message in request.messages { reply += message }
            return StreamingServerResponse(single: ServerResponse(message: reply))
        }
    }
}

/// Nanoseconds per call of `calls` calls made by `callers` callers at once.
func perCall<Transport: ClientTransport>(_ client: GRPCClient<Transport>, calls: Int, callers: Int) async throws -> Double {
    let clock = ContinuousClock()
    let started = clock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for _ in 0..<callers {
            group.addTask {
                for _ in 0..<(calls / callers) {
                    _ = try await client.unary(
                        request: ClientRequest(message: [1, 2, 3]), descriptor: Echo.method, serializer: Echo(),
                        deserializer: Echo(), options: .defaults
                    ) { try $0.message }
                }
            }
        }
        try await group.waitForAll()
    }
    let elapsed = clock.now - started
    return Double(elapsed.components.seconds) * 1e9 / Double(calls) + Double(elapsed.components.attoseconds) / 1e9 / Double(calls)
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let (calls, rounds) = (arguments.first ?? 5000, arguments.dropFirst().first ?? 5)
let server = GRPCServer(
    transport: .http2NIOPosix(address: .ipv4(host: "127.0.0.1", port: 0), transportSecurity: .plaintext),
    services: [Echo()])
try await withThrowingDiscardingTaskGroup { group in
    group.addTask { try await server.serve() }
    guard let port = try await server.listeningAddress?.ipv4?.port else { fatalError("the server did not listen") }
    let registry = EmbeddedRegistry()
    _ = try await registry.register(
        ServiceInstance(service: "echo", id: "e1", address: "127.0.0.1", port: port), ttl: .seconds(3600))
    let plain = GRPCClient(
        transport: try HTTP2ClientTransport.Posix(
            target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext))
    let shoal = GRPCClient(transport: ShoalClientTransport(service: "echo", discovery: registry))
    group.addTask { try await plain.runConnections() }
    group.addTask { try await shoal.runConnections() }
    var times: [String: [Double]] = [:]
    for round in 0...rounds {
        for callers in [1, 16] {
            let plainTime = try await perCall(plain, calls: calls, callers: callers)
            let shoalTime = try await perCall(shoal, calls: calls, callers: callers)
            if round > 0 {  // round 0 warms up: connections, the balancer's first latencies
                times["plain \(callers)", default: []].append(plainTime)
                times["shoal \(callers)", default: []].append(shoalTime)
            }
        }
    }
    var summary: [String: Double] = [:]
    for callers in [1, 16] {
        let (p, s) = (median(times["plain \(callers)"]!), median(times["shoal \(callers)"]!))
        print(
            "\(callers == 1 ? "one call at a time" : "16 callers at once"): plain grpc-swift-2 \(Int(p / 1000)) µs/call, "
                + "ShoalClientTransport \(Int(s / 1000)) µs/call: \(String(format: "%.2f", s / p))×"
                + (callers == 1 ? "   (goal ≤ 1.15×)" : ""))
        summary["plain_\(callers)_ns"] = p
        summary["shoal_\(callers)_ns"] = s
        summary["ratio_\(callers)"] = s / p
    }
    let json = summary.sorted { $0.key < $1.key }.map { "\"\($0.key)\": \(String(format: "%.3f", $0.value))" }
    print("{" + json.joined(separator: ", ") + "}")
    plain.beginGracefulShutdown()
    shoal.beginGracefulShutdown()
    server.beginGracefulShutdown()
}
