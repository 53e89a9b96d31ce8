import ShoalAdmin
import ShoalGateway

/// What `shoal serve` does on SIGHUP (SIGUSR1 reopens the access log in `run()`).
extension ServeCommand {
    /// Reads the TLS files again for new connections; on failure, says why and keeps the
    /// certificate in use.
    static func reloadTLS(_ gateway: Gateway, _ settings: ServeSettings) {
        do {
            guard let tls = try ServeTLS.configuration(settings) else { return }
            try gateway.reloadTLS(tls)
            let paths = [settings.tlsCertificate, settings.tlsDirectory].compactMap { $0 }.joined(separator: " and ")
            StandardError.write("shoal: SIGHUP: new connections get the certificates in \(paths)\n")
        } catch let error as UsageError {
            StandardError.write("shoal: SIGHUP: \(error.message); the certificate in use stays\n")
        } catch {
            StandardError.write("shoal: SIGHUP: the gateway \(error); the certificate in use stays\n")
        }
    }

    /// Reads the tokens file again; one that does not load leaves the tokens as they were.
    static func reloadTokens(_ tokens: AdminTokens, _ settings: ServeSettings) {
        guard let path = settings.tokensFile else { return }
        do {
            let file = try TokensFile.load(path)
            tokens.replace(single: settings.token, file: file)
            StandardError.write("shoal: SIGHUP: \(file.count) tokens from \(path)\n")
        } catch {
            StandardError.write("shoal: SIGHUP: \(error.message); the tokens in use stay\n")
        }
    }

    /// Reads the admin API's TLS files again for new connections; on failure, the
    /// certificate in use stays.
    static func reloadAdminTLS(_ tls: AdminTLS, _ settings: ServeSettings) {
        do {
            try tls.reload(settings)
            StandardError.write(
                "shoal: SIGHUP: new admin connections get the certificate in \(settings.adminTLSCertificate ?? "")\n")
        } catch {
            StandardError.write("shoal: SIGHUP: \(error.message); the admin API's certificate in use stays\n")
        }
    }
}
