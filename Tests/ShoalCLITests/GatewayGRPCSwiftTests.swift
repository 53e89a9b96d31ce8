import GRPCCore
import GRPCNIOTransportHTTP2Posix
import ShoalTesting
import Testing

/// grpc-swift-2 and grpcio on either side of the gateway: a grpcio client calling
/// grpc-swift-2 instances, and a grpc-swift-2 client calling grpcio instances.
@Suite("the gateway between grpc-swift-2 and grpcio, both ways", .serialized)
struct GatewayGRPCSwiftTests {
    @Test("a grpcio client through the gateway to grpc-swift-2 instances: unary, trailers, status, streams")
    func grpcioToSwift() async throws {
        let server = GRPCServer(
            transport: .http2NIOPosix(address: .ipv4(host: "127.0.0.1", port: 0), transportSecurity: .plaintext),
            services: [PeerService(name: "swift")])
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await server.serve() }
            defer { server.beginGracefulShutdown() }
            let port = try #require(try await server.listeningAddress?.ipv4?.port)
            let serve = try await ServeProcess(config: GatewayGRPCTests.config())
            defer { serve.stop() }
            try await serve.register("peer", id: "swift", port: port)
            #expect(
                await eventually(within: 10) {
                    (try? await GRPCPeer.client(serve.gatewayTarget, ["unary:1"]).first?.counts("names")) == ["swift": 1]
                })
            // 800 calls from 8 threads at once on the gateway's connection to the instance: a
            // stream reset after each would look to swift-nio-http2's server like a rapid-reset
            // attack, and end the connection.
            let results = try await GRPCPeer.client(
                serve.gatewayTarget,
                ["trailers", "fail:9", "server_stream:500x2000", "client_stream:500x2000", "bidi:100", "burst:800"])
            try #require(results.count == 6)
            #expect(results[5].counts("codes").keys.sorted() == ["0"], "\(results[5])")

            // An HTTP/1.1 client on the h2c route: the call goes up as an HTTP/2 stream, and
            // its answer comes back chunked, the gRPC trailers as the trailer section.
            let gatewayPort = serve.gatewayPort
            let answer = try await blocking {
                let connection = try RawConnection(port: gatewayPort, timeout: 10)
                let head = "POST /shoal.test.Peer/Unary HTTP/1.1\r\nHost: gateway\r\ncontent-type: application/grpc\r\n"
                    + "te: trailers\r\nconnection: close\r\ncontent-length: 8\r\n\r\n"
                _ = connection.send(Array(head.utf8) + [0, 0, 0, 0, 3] + Array("abc".utf8))
                return String(decoding: connection.receiveUntilClosed().bytes, as: UTF8.self)
            }
            #expect(answer.hasPrefix("HTTP/1.1 200"), "\(answer)")
            #expect(answer.lowercased().contains("transfer-encoding: chunked\r\n"), "\(answer)")
            #expect(answer.contains("swift:abc"), "\(answer)")
            #expect(answer.contains("\r\n0\r\n") && answer.contains("grpc-status: 0\r\n"), "\(answer)")
            #expect((results[0].object["trailers"] as? [String: String])?["peer-name"] == "swift", "\(results[0])")
            #expect(results[1].code == 9 && results[1].message == "failed as asked by the test", "\(results[1])")
            #expect(results[2].object["received"] as? Int == 500, "\(results[2])")
            #expect(results[3].object["reply"] as? String == "500 1000000", "\(results[3])")
            #expect(results[4].object["echoed"] as? Int == 100 && results[4].object["in_order"] as? Bool == true)
        }
    }

    @Test("a grpc-swift-2 client through the gateway to grpcio instances: unary, a status, a server stream")
    func swiftToGrpcio() async throws {
        try await GatewayGRPCTests.withGateway(instances: 2) { serve, peers in
            let transport = try HTTP2ClientTransport.Posix(
                target: .ipv4(address: "127.0.0.1", port: serve.gatewayPort), transportSecurity: .plaintext)
            try await withGRPCClient(transport: transport) { client in
                var names: Set<String> = []
                for index in 0..<10 {
                    let reply = try await client.unary(
                        request: ClientRequest(message: Array("\(index)".utf8)), descriptor: PeerService.method("Unary"),
                        serializer: PeerBytes(), deserializer: PeerBytes(), options: .defaults
                    ) { try $0.message }
                    let text = String(decoding: reply, as: UTF8.self)
                    #expect(text.hasSuffix(":\(index)"))
                    names.insert(String(text.prefix { $0 != ":" }))
                }
                #expect(names == Set(peers.map(\.name)))
                do {
                    _ = try await client.unary(
                        request: ClientRequest(message: Array("7".utf8)), descriptor: PeerService.method("Fail"),
                        serializer: PeerBytes(), deserializer: PeerBytes(), options: .defaults
                    ) { try $0.message }
                    Issue.record("Fail succeeded")
                } catch let error as RPCError {
                    #expect(error.code == .permissionDenied)
                    #expect(error.message == "failed as asked by the test")
                }
                let count = try await client.serverStreaming(
                    request: ClientRequest(message: Array("300 1000".utf8)), descriptor: PeerService.method("ServerStream"),
                    serializer: PeerBytes(), deserializer: PeerBytes(), options: .defaults
                ) { response in
                    var count = 0
                    for try await _ in response.messages { count += 1 }
                    return count
                }
                #expect(count == 300)
            }
        }
    }
}
