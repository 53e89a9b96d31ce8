import ServiceLifecycle
import ShoalGateway

/// Tells systemd (``SystemdNotifier``) that `shoal serve` is ready once the admin API and the
/// gateway both listen, and that it is stopping once graceful shutdown begins, so that a unit
/// with `Type=notify` starts the next unit, or counts a restart done, only when Shoal serves.
/// The group ignores its end.
struct ServeReadiness: Service {
    let notifier: SystemdNotifier
    let gateway: Gateway
    /// The admin API's address, once it listens.
    let adminListening: AsyncStream<String>
    /// The gateway's address, given the port it bound.
    let gatewayAddress: @Sendable (Int) -> String

    func run() async throws {
        guard notifier.socket != nil else { return }
        let status: String? = await cancelWhenGracefulShutdown {
            var admin: String?
            for await address in adminListening {
                admin = address
                break
            }
            guard let admin, let bound = try? await gateway.boundPort() else { return nil }
            return "gateway on \(gatewayAddress(bound)), registry API on \(admin)"
        }
        if let status { notifier.ready(status: status) }
        try? await gracefulShutdown()
        notifier.stopping()
    }
}
