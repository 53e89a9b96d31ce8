import ShoalGateway

/// `shoal serve --check`: what it prints, and the errors it shares with a real start.
extension ServeCommand {
    /// What `--check` prints: where each part would listen, and the routes.
    static func summary(_ settings: ServeSettings, tls: Bool, adminTLS: Bool = false, state: String) -> String {
        let scheme = tls ? "https" : "http"
        var lines = [
            "shoal: the settings are good.",
            "gateway on \(scheme)://\(settings.listen) (\(settings.threads) threads), admin API on \(adminTLS ? "https" : "http")://\(settings.admin), state in \(state)",
        ]
        if adminTLS, let clientCA = settings.adminTLSClientCA {
            lines.append("admin clients need certificates from CAs in: \(clientCA)")
        }
        if let file = settings.tokensFile { lines.append("admin API tokens from: \(file)") }
        if let directory = settings.tlsDirectory { lines.append("certificates by name (SNI) from: \(directory)") }
        if let clientCA = settings.tlsClientCA {
            lines.append("client certificates required, from CAs in: \(clientCA)")
        }
        if let accessLog = settings.accessLog {
            lines.append("access log: \(accessLog == "-" ? "standard output" : accessLog)")
        }
        if let endpoint = settings.otlpEndpoint { lines.append("spans to: \(endpoint)") }
        lines.append(settings.routes.isEmpty ? "no routes" : "routes:")
        for route in settings.routes {
            let strip = route.stripPrefix ? ", prefix stripped" : ""
            let h2c = route.upstreamProtocol == .h2c ? ", h2c" : ""
            let retried =
                route.retryGRPCStatuses.isEmpty
                ? "" : ", retries grpc-status " + route.retryGRPCStatuses.map(String.init).joined(separator: ",")
            let slashes = route.allowsEncodedSlashes ? ", encoded slashes allowed" : ""
            lines.append(
                "  \(route.host ?? "")\(route.prefix) -> \(route.service) (\(route.strategy.name)\(strip)\(h2c)\(retried)\(slashes))"
            )
        }
        return lines.joined(separator: "\n")
    }

    /// The usage error (exit 2) for what the gateway found wrong in its settings when it
    /// started or was checked: TLS files that do not make a context, or an access log that
    /// does not open. `nil` for anything else.
    static func settingError(_ error: any Error) -> UsageError? {
        switch error {
        case let error as GatewayTLSError:
            UsageError(
                "the gateway \(error) (\(ServeSetting.tlsCertificate.flag), \(ServeSetting.tlsKey.flag)); check that the key is the certificate's"
            )
        case let error as GatewayAccessLogError:
            UsageError("the gateway \(error) (\(ServeSetting.accessLog.sources)); choose a path it can write")
        default: nil
        }
    }
}
