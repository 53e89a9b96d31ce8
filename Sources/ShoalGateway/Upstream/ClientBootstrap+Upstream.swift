import NIOCore
import NIOPosix
import ShoalCore

extension ClientBootstrap {
    /// A bootstrap for connections to instances, on `eventLoop`: the upstream connect timeout,
    /// and `TCP_NODELAY` (a request's head and body go as they are written).
    static func upstream(on eventLoop: any EventLoop, settings: GatewayConfiguration.Upstream) -> ClientBootstrap {
        ClientBootstrap(group: eventLoop)
            .connectTimeout(settings.connectTimeout.timeAmount)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
    }

    /// Connects to `endpoint`: an IP address as it is, a host name looked up.
    func connect(to endpoint: Endpoint) -> EventLoopFuture<any Channel> {
        if let address = try? SocketAddress(ipAddress: endpoint.host, port: endpoint.port) {
            return connect(to: address)
        }
        return connect(host: endpoint.host, port: endpoint.port)
    }
}
