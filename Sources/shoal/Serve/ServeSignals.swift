import ServiceLifecycle
import ShoalAdmin
import ShoalCore
import ShoalGateway
import UnixSignals

/// `shoal serve`'s answers to signals, as a service of its group, so that graceful shutdown
/// ends them: SIGUSR1 reopens the access log (after a rotation moved it), as it does for
/// nginx; SIGHUP reads the TLS certificates and keys again (after a renewal), the admin
/// API's too, and the tokens file.
struct ServeSignals: Service {
    let gateway: Gateway
    let tokens: AdminTokens
    let adminTLS: AdminTLS?
    let settings: ServeSettings
    /// Told of each reload (SIGHUP), for a unit with `Type=notify`.
    let notifier: SystemdNotifier

    func run() async throws {
        await cancelWhenGracefulShutdown {
            for await signal in await UnixSignalsSequence(trapping: .sigusr1, .sighup) {
                if signal == .sigusr1 {
                    do throws(GatewayAccessLogError) {
                        try gateway.reopenAccessLog()
                    } catch {
                        StandardError.write("shoal: SIGUSR1: \(error); the log goes on to the file it was going to\n")
                    }
                } else {
                    notifier.reloading(at: SystemClock().now())
                    ServeCommand.reloadTLS(gateway, settings)
                    ServeCommand.reloadTokens(tokens, settings)
                    if let adminTLS { ServeCommand.reloadAdminTLS(adminTLS, settings) }
                    notifier.reloaded()
                }
            }
        }
    }
}

/// Says where the gateway listens once it has bound, then ends (the group ignores its end).
struct GatewayAnnouncement: Service {
    let gateway: Gateway
    let line: @Sendable (Int) -> String

    func run() async throws {
        guard let bound = try? await gateway.boundPort() else { return }
        StandardError.write(line(bound))
    }
}
