import NIOSSL
import Synchronization

/// The admin listener's TLS (`--admin-tls-cert`, `--admin-tls-key`, and for mutual TLS
/// `--admin-tls-client-ca`): the context new connections get, which SIGHUP replaces after a
/// renewal, as the gateway's.
final class AdminTLS: Sendable {
    private let context: Mutex<NIOSSLContext>

    init(_ settings: ServeSettings) throws(UsageError) {
        context = Mutex(try Self.context(settings))
    }

    /// The context for the next connection.
    var current: NIOSSLContext { context.withLock { $0 } }

    /// Whether `settings` ask for TLS on the admin listener.
    ///
    /// - Throws: `UsageError` when only some of the files that need each other are given.
    static func isConfigured(_ settings: ServeSettings) throws(UsageError) -> Bool {
        switch (settings.adminTLSCertificate, settings.adminTLSKey) {
        case (nil, nil):
            if settings.adminTLSClientCA != nil {
                throw UsageError(
                    "\(ServeSetting.adminTLSClientCA.flag) needs TLS on the admin API: give \(ServeSetting.adminTLSCertificate.flag) and \(ServeSetting.adminTLSKey.flag)"
                )
            }
            return false
        case (.some, .some):
            return true
        default:
            throw UsageError(
                "TLS on the admin API needs both \(ServeSetting.adminTLSCertificate.flag) and \(ServeSetting.adminTLSKey.flag) (or neither)"
            )
        }
    }

    /// Reads the files again; on failure the context in use stays.
    func reload(_ settings: ServeSettings) throws(UsageError) {
        let fresh = try Self.context(settings)
        context.withLock { $0 = fresh }
    }

    private static func context(_ settings: ServeSettings) throws(UsageError) -> NIOSSLContext {
        guard let certificate = settings.adminTLSCertificate, let key = settings.adminTLSKey else {
            throw UsageError(
                "TLS on the admin API needs \(ServeSetting.adminTLSCertificate.flag) and \(ServeSetting.adminTLSKey.flag)"
            )
        }
        let (chain, privateKey) = try ServeTLS.pair(
            certificate: certificate, key: key, source: nil,
            flags: (ServeSetting.adminTLSCertificate.flag, ServeSetting.adminTLSKey.flag))
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(privateKey))
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = ["http/1.1"]
        if let clientCA = settings.adminTLSClientCA {
            try ServeTLS.requireClientCertificates(
                from: clientCA, source: ServeSetting.adminTLSClientCA.flag, in: &configuration)
        }
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw UsageError(
                "the admin API's TLS files do not make a context (\(ServeSetting.adminTLSCertificate.flag), \(ServeSetting.adminTLSKey.flag)): \(error)"
            )
        }
    }
}
