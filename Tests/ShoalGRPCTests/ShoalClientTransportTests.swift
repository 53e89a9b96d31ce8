import GRPCCore
import GRPCNIOTransportHTTP2Posix
import ShoalBalancing
import ShoalDiscovery
import Testing

@testable import ShoalGRPC

@Suite("ShoalClientTransport: each gRPC call balanced by Shoal over a service's instances")
struct ShoalClientTransportTests {
    typealias Servers = ShoalNameResolverTests

    /// Registers the servers on `ports` as instances `i0`, `i1`, … of `names`.
    static func register(_ ports: [Int], in registry: EmbeddedRegistry) async throws {
        for (index, port) in ports.enumerated() {
            _ = try await registry.register(
                ServiceInstance(service: "names", id: "i\(index)", address: "127.0.0.1", port: port), ttl: .seconds(60))
        }
    }

    /// Calls until every one of `expected` answered (the transports connect in the background).
    static func waitForAll<Transport: ClientTransport>(_ expected: Set<String>, _ client: GRPCClient<Transport>)
        async throws
    {
        var seen: Set<String> = []
        for _ in 0..<100 where seen != expected {
            if let names = try? await Servers.names(client, count: 3) { seen.formUnion(names) }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(seen == expected)
    }

    @Test("round robin: on one client, each call goes to the next instance; a deregistered one gets no more")
    func perCall() async throws {
        let registry = EmbeddedRegistry()
        try await Servers.withServer("a") { a in
            try await Servers.withServer("b") { b in
                try await Servers.withServer("c") { c in
                    try await Self.register([a, b, c], in: registry)
                    // With a retry policy for UNAVAILABLE: a call that reached the instance as it
                    // left (its stream reset by the GOAWAY) goes again, as grpc-swift-2 retries.
                    let transport = ShoalClientTransport(
                        service: "names", discovery: registry, strategy: .roundRobin,
                        serviceConfig: Servers.serviceConfig)
                    try await withGRPCClient(transport: transport) { client in
                        try await Self.waitForAll(["a", "b", "c"], client)
                        let names = try await Servers.names(client, count: 30)
                        for name in ["a", "b", "c"] { #expect(names.filter { $0 == name }.count == 10, "\(names)") }
                        _ = try await registry.deregister(service: "names", id: "i1")
                        var last: [String] = []
                        for _ in 0..<50 {
                            last = try await Servers.names(client, count: 6)
                            if !last.contains("b") { break }
                            try await Task.sleep(for: .milliseconds(20))
                        }
                        #expect(Set(last) == ["a", "c"])
                    }
                }
            }
        }
    }

    @Test("the default strategy: the balancer learns each call's latency, and an instance 25× slower gets few calls")
    func learnsLatency() async throws {
        let registry = EmbeddedRegistry()
        try await Servers.withServer("fast1", delay: .milliseconds(2)) { fast1 in
            try await Servers.withServer("fast2", delay: .milliseconds(2)) { fast2 in
                try await Servers.withServer("slow", delay: .milliseconds(50)) { slow in
                    try await Self.register([fast1, fast2, slow], in: registry)
                    let transport = ShoalClientTransport(service: "names", discovery: registry)
                    try await withGRPCClient(transport: transport) { client in
                        try await Self.waitForAll(["fast1", "fast2", "slow"], client)
                        // Four callers at once, 200 calls in all.
                        let names = try await withThrowingTaskGroup(of: [String].self) { group in
                            for _ in 0..<4 { group.addTask { try await Servers.names(client, count: 50) } }
                            return try await group.reduce(into: []) { $0 += $1 }
                        }
                        let slowCalls = names.filter { $0 == "slow" }.count
                        #expect(names.count == 200)
                        // An even share would be 67: the slow instance gets less than half of it,
                        // and the fast ones together more than four times what it gets. (Not
                        // each fast one: under the suite's load, one slow answer of a fast
                        // instance keeps it out for about a second under hot-cold, longer than
                        // these 200 calls take; one run saw a fast instance get none.)
                        #expect(slowCalls < 34, "the slow instance took \(slowCalls) of 200 calls")
                        let fastCalls = names.filter { $0 != "slow" }.count
                        #expect(slowCalls * 4 < fastCalls, "\(slowCalls) slow calls, \(fastCalls) fast ones")
                        let report = transport.balancer.balancer?.report ?? []
                        #expect(report.count == 3)
                        #expect(report.allSatisfy { $0.latencyEWMA > .zero }, "\(report.map(\.latencyEWMA))")
                    }
                }
            }
        }
    }

    @Test("a service with no instance: the call fails UNAVAILABLE, naming the service")
    func noInstance() async throws {
        let transport = ShoalClientTransport(service: "nothing", discovery: EmbeddedRegistry())
        try await withGRPCClient(transport: transport) { client in
            // withGRPCClient fails with clientIsStopped when its body ends before the client's
            // runConnections() began: this one would end at once.
            try await Task.sleep(for: .milliseconds(100))
            do {
                _ = try await Servers.names(client, count: 1)
                Issue.record("a call with no instance succeeded")
            } catch let error as RPCError {
                #expect(error.code == .unavailable)
                #expect(error.message.contains("nothing"))
            }
        }
    }

    @Test("outcomes: application statuses are answers; UNAVAILABLE, INTERNAL and deadlines count against the instance")
    func outcomes() {
        let latency = Duration.milliseconds(3)
        #expect(GRPCCallOutcome.outcome(error: nil, latency: latency) == .success(latency: latency))
        #expect(
            GRPCCallOutcome.outcome(error: RPCError(code: .notFound, message: ""), latency: latency)
                == .success(latency: latency))
        #expect(
            GRPCCallOutcome.outcome(error: RPCError(code: .unavailable, message: ""), latency: latency)
                == .failure(.connectFailure, latency: latency))
        #expect(
            GRPCCallOutcome.outcome(error: RPCError(code: .internalError, message: ""), latency: latency)
                == .failure(.serverError, latency: latency))
        #expect(
            GRPCCallOutcome.outcome(error: RPCError(code: .deadlineExceeded, message: ""), latency: latency)
                == .failure(.timeout, latency: latency))
        #expect(
            GRPCCallOutcome.outcome(error: CancellationError(), latency: latency)
                == .failure(.cancelled, latency: latency))
    }
}
