import Foundation
import ShoalTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// gRPC through the gateway, with grpcio clients and servers that Shoal did not write: the
/// gateway takes HTTP/2 from the client and opens h2c streams to the instances, one call at
/// a time, each balanced on its own.
@Suite("the gateway: gRPC calls to h2c instances, balanced per call", .serialized)
struct GatewayGRPCTests {
    /// A route for the peers' service, to h2c instances, and one for a service with none.
    static func config(
        strategy: String = "roundRobin", timeout: String = "2s", extra: String = "", accessLog: String = "/dev/null"
    ) -> String {
        """
        admin: 127.0.0.1:0
        listen: 127.0.0.1:0
        threads: 2
        access_log: \(accessLog)
        routes:
          peer:
            prefix: /shoal.test.Peer
            service: peer
            protocol: h2c
            strategy: \(strategy)
            timeout: \(timeout)
        \(extra)
          none:
            prefix: /shoal.test.None
            service: none
            protocol: h2c
        """
    }

    /// `shoal serve` with `count` grpcio instances of `peer` registered; `body` gets both.
    static func withGateway(
        instances count: Int = 3, options: [String] = [], config: String = config(),
        _ body: (ServeProcess, [GRPCPeerServer]) async throws -> Void
    ) async throws {
        var peers: [GRPCPeerServer] = []
        defer { for peer in peers { peer.stop() } }
        for index in 1...count { peers.append(try await GRPCPeerServer(name: "p\(index)", options: options)) }
        let serve = try await ServeProcess(config: config)
        defer { serve.stop() }
        for peer in peers { try await serve.register("peer", id: peer.name, port: peer.port) }
        // The gateway follows the registry within a moment.
        #expect(
            await eventually(within: 10) {
                let names = try? await GRPCPeer.client(serve.gatewayTarget, ["unary:\(3 * count)"]).first?.counts("names")
                return names?.count == count
            })
        try await body(serve, peers)
    }

    @Test("unary, trailers, a status-only answer, and streams both ways with backpressure; each instance gets its share")
    func calls() async throws {
        let logs = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: logs) }
        let file = logs.appendingPathComponent("access.log")
        try await Self.withGateway(config: Self.config(accessLog: file.path)) { serve, peers in
            let results = try await GRPCPeer.client(
                serve.gatewayTarget,
                ["unary:60", "trailers", "fail:5", "server_stream:2000x1000", "client_stream:2000x1000", "bidi:300"])
            try #require(results.count == 6)
            // One client connection; round robin sends each instance a third of the calls.
            let names = results[0].counts("names")
            #expect(names.keys.sorted() == peers.map(\.name), "\(results[0])")
            for (_, count) in names { #expect((17...23).contains(count), "\(names)") }
            #expect(results[1].object["reply"] as? String != nil)
            #expect((results[1].object["trailers"] as? [String: String])?["peer-name"] != nil, "\(results[1])")
            #expect(results[2].code == 5 && results[2].message == "failed as asked by the test", "\(results[2])")
            #expect(results[3].object["received"] as? Int == 2000, "\(results[3])")
            #expect(results[3].object["bytes"] as? Int ?? 0 > 2_000_000)
            #expect(results[4].object["reply"] as? String == "2000 2000000", "\(results[4])")
            #expect(results[5].object["echoed"] as? Int == 300 && results[5].object["in_order"] as? Bool == true)

            // The status API, the metrics and the access log say what the calls ended with.
            let status = ServeProcess.object(try await serve.request("GET", "/v1/gateway").body)
            #expect(status["grpc_calls"] as? Int ?? 0 >= 65, "\(status)")
            #expect(status["grpc_errors"] as? Int == 1, "\(status)")
            let routes = status["routes"] as? [[String: Any]] ?? []
            #expect(routes.first { $0["service"] as? String == "peer" }?["protocol"] as? String == "h2c")
            let metrics = try await serve.request("GET", "/metrics").body
            #expect(metrics.contains(#"shoal_gateway_grpc_calls_total{route="/shoal.test.Peer",grpc_status="5"} 1"#))
            #expect(
                await eventually(within: 5) {
                    let log = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
                    return log.contains(#""target":"/shoal.test.Peer/Fail","protocol":"HTTP/2","status":200,"grpc_status":5"#)
                })
        }
    }

    @Test("streams longer than every flow-control window both ways: the windows are given back as they are read")
    func longStreams() async throws {
        // 12 MB each way on one instance's connection: more than a stream's window (1 MiB)
        // and the connection's (8 MiB) that the gateway gives the instance, and more than the
        // instance gives the gateway, so each stalls unless its window is given back. The
        // client stream's answer comes at its end: the route's timeout leaves time for it.
        try await Self.withGateway(instances: 1, config: Self.config(timeout: "60s")) { serve, _ in
            let results = try await GRPCPeer.client(
                serve.gatewayTarget, ["server_stream:12000x1000", "client_stream:12000x1000", "server_stream:12000x1000"])
            try #require(results.count == 3)
            #expect(results[0].object["received"] as? Int == 12000, "\(results[0])")
            #expect(results[1].object["reply"] as? String == "12000 12000000", "\(results[1])")
            #expect(results[2].object["received"] as? Int == 12000, "\(results[2])")
        }
    }

    @Test("the gateway's own errors are gRPC statuses: UNAVAILABLE, UNIMPLEMENTED, DEADLINE_EXCEEDED")
    func gatewayErrors() async throws {
        try await Self.withGateway(instances: 1) { serve, _ in
            let answers = try await GRPCPeer.client(serve.gatewayTarget, ["none", "noroute"])
            try #require(answers.count == 2)
            #expect(answers[0].code == 14, "\(answers[0])")
            #expect(answers[0].message == "no instance of none can take the request")
            #expect(answers[1].code == 12, "\(answers[1])")
            #expect(answers[1].message == "no route for /shoal.test.Nowhere/Unary")
            // The call's deadline (grpc-timeout 300 ms) and the route's timeout (2 s) end
            // calls the instance is slow to answer.
            let started = ContinuousClock.now
            let results = try await GRPCPeer.client(serve.gatewayTarget, ["slow:5000/0.3", "slow:5000/20"])
            try #require(results.count == 2)
            #expect(results[0].code == 4, "\(results[0])")
            #expect(results[1].code == 4, "\(results[1])")
            #expect(results[1].message == "peer did not answer in time", "\(results[1])")
            #expect(ContinuousClock.now - started < .seconds(8))
        }
    }

    @Test("a call the client cancels, or whose deadline passes, is cancelled on the instance")
    func cancellation() async throws {
        try await Self.withGateway(instances: 1) { serve, peers in
            let results = try await GRPCPeer.client(serve.gatewayTarget, ["cancel:5000", "slow:5000/0.3"])
            #expect(results.first?.object["cancelled"] as? Bool == true, "\(results)")
            let cancelled = await eventually(within: 10) { (try? await peers[0].stats().cancelled) == 2 }
            let stats = try await peers[0].stats()
            #expect(cancelled, "the instance saw \(stats)")
        }
    }

    @Test("an instance that allows 2 streams a connection gets more connections, never more streams on one")
    func maxConcurrentStreams() async throws {
        try await Self.withGateway(instances: 1, options: ["--max-streams", "2"]) { serve, peers in
            let results = try await GRPCPeer.client(serve.gatewayTarget, ["concurrent:12x1500"])
            #expect(results.first?.counts("codes") == ["0": 12], "\(results)")
            // 12 calls at once on connections of 2 streams: at least 6 connections.
            let connections = try await peers[0].establishedConnections()
            #expect(connections >= 6, "\(connections) connections")
        }
    }

    @Test("a gRPC status the route lists is retried on another instance before the client sees it")
    func retriedStatus() async throws {
        var peers: [GRPCPeerServer] = []
        defer { for peer in peers { peer.stop() } }
        peers.append(try await GRPCPeerServer(name: "down", options: ["--unavailable"]))
        peers.append(try await GRPCPeerServer(name: "up"))
        let serve = try await ServeProcess(
            config: Self.config(extra: "    retry_grpc_status: 14\n    retries: 1"))
        defer { serve.stop() }
        for peer in peers { try await serve.register("peer", id: peer.name, port: peer.port) }
        #expect(await eventually(within: 10) {
            (try? await GRPCPeer.client(serve.gatewayTarget, ["unary:6"]).first?.counts("names")) == ["up": 6]
        })
        let calls = try await peers[0].stats().calls
        #expect(calls >= 3, "round robin sent calls to the instance that fails them: \(calls)")
    }

    @Test("an instance killed under load: only its calls in flight fail, and none after")
    func killedInstance() async throws {
        try await Self.withGateway(config: Self.config(strategy: "peakEWMA")) { serve, peers in
            async let load = GRPCPeer.client(serve.gatewayTarget, ["load:4"])
            try await Task.sleep(for: .seconds(1.5))
            peers[2].process.kill()
            let codes = try await load.first?.counts("codes") ?? [:]
            let failed = codes.filter { $0.key != "0" }.values.reduce(0, +)
            // 8 client threads: at most 8 calls were on the killed instance at once.
            #expect(failed <= 8, "\(codes)")
            #expect(codes["0", default: 0] > 100, "\(codes)")
            let after = try await GRPCPeer.client(serve.gatewayTarget, ["load:1"]).first?.counts("codes") ?? [:]
            #expect(after.keys.sorted() == ["0"], "\(after)")
        }
    }
}

extension ServeProcess {
    /// The gateway as a gRPC target.
    var gatewayTarget: String { "127.0.0.1:\(gatewayPort)" }
}
