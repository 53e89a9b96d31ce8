import NIOCore

extension ProxyStateMachine.Limits {
    /// The limits a gateway's configuration sets.
    init(_ limits: GatewayConfiguration.Limits) {
        self.init(
            headerTimeout: limits.headerTimeout.timeAmount, idleTimeout: limits.idleTimeout.timeAmount,
            tunnelIdleTimeout: limits.tunnelIdleTimeout.timeAmount, maxHeldBytes: 1 << 20,
            sendTimeout: limits.sendTimeout.timeAmount, drainIdleGrace: limits.drainIdleGrace.timeAmount)
    }
}
