import NIOCore
import NIOEmbedded
import ShoalBalancing
import ShoalCore
import ShoalDiscovery
import Tracing

@testable import ShoalGateway

/// A ``ProxyHandler`` on an `EmbeddedChannel`, whose upstream connections are
/// `EmbeddedChannel`s too: the test writes the client's bytes and each instance's, reads what
/// the gateway wrote to either, and moves the event loop's clock by hand. The handler, the
/// upstream connections and the pool are the gateway's own; only the sockets are not.
final class ProxyHarness {
    let loop = EmbeddedEventLoop()
    let client: EmbeddedChannel
    let handler: ProxyHandler
    let gatewayLoop: GatewayLoop
    /// Every upstream channel the gateway opened, in order, with the instance it went to.
    private(set) var upstreams: [(address: String, channel: EmbeddedChannel)] = []

    /// A gateway with `routes`, whose services have instances at the given ports on 10.0.0.1.
    init(
        routes: [GatewayRoute], instances: [String: [Int]], limits: GatewayConfiguration.Limits = .init()
    ) throws {
        let configuration = try GatewayConfiguration(routes: RouteTable(routes), limits: limits)
        let balancers = try routes.map { route in
            let balancer = ServiceBalancer(
                service: route.service, strategy: route.strategy, configuration: configuration.balancer,
                clock: SystemClock())
            let ports = instances[route.service] ?? []
            balancer.apply(
                ServiceSnapshot(
                    service: route.service, index: 1,
                    instances: try ports.map {
                        try ServiceInstance(service: route.service, id: "i\($0)", address: "10.0.0.1", port: $0)
                    }))
            return balancer
        }
        let shared = GatewayShared(configuration: configuration, upstreams: balancers, tracer: NoOpTracer())
        gatewayLoop = GatewayLoop(eventLoop: loop, shared: shared, seed: 1)
        handler = ProxyHandler(loop: gatewayLoop)
        client = EmbeddedChannel(loop: loop)
        try client.connect(to: SocketAddress(ipAddress: "192.0.2.7", port: 50000)).wait()
        try client.pipeline.syncOperations.addHandler(handler)
        gatewayLoop.pool.openChannel = { [unowned self] endpoint in
            let channel = EmbeddedChannel(loop: self.loop)
            do {
                try channel.pipeline.syncOperations.addHandler(UpstreamHandler())
                try channel.connect(to: SocketAddress(ipAddress: endpoint.host, port: endpoint.port)).wait()
            } catch {
                return self.loop.makeFailedFuture(error)
            }
            self.upstreams.append((endpoint.address, channel))
            return self.loop.makeSucceededFuture(channel)
        }
    }

    /// Sends the client's bytes to the gateway.
    func send(_ text: String) throws {
        try client.writeInbound(ByteBuffer(string: text))
    }

    /// Everything the gateway wrote to the client since the last call.
    func toClient() throws -> String {
        try Self.drain(client)
    }

    /// Everything the gateway wrote to upstream connection `index` since the last call.
    func toUpstream(_ index: Int) throws -> String {
        try Self.drain(upstreams[index].channel)
    }

    /// Instance bytes on upstream connection `index`.
    func answer(_ index: Int, _ text: String) throws {
        try upstreams[index].channel.writeInbound(ByteBuffer(string: text))
    }

    /// Moves the event loop's clock, running the timers that come due.
    func advance(_ time: TimeAmount) {
        loop.advanceTime(by: time)
    }

    private static func drain(_ channel: EmbeddedChannel) throws -> String {
        var text = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
            text += String(buffer: buffer)
        }
        return text
    }
}
