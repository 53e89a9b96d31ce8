import NIOSSL

/// The gateway's TLS server configuration, from the PEM files `--tls-cert` and `--tls-key`
/// name.
enum ServeTLS {
    /// The configuration for the certificate chain in `certificate` and the key in `key`; `nil`
    /// when neither is given.
    ///
    /// - Throws: `UsageError` when only one is given, or a file does not hold what it should.
    static func configuration(certificate: String?, key: String?) throws(UsageError) -> TLSConfiguration? {
        guard certificate != nil || key != nil else { return nil }
        guard let certificate, let key else {
            throw UsageError(
                "TLS needs both a certificate chain and its key: give \(ServeSetting.tlsCertificate.flag) and \(ServeSetting.tlsKey.flag) (or neither)"
            )
        }
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificate)
        } catch {
            throw UsageError(
                "\(ServeSetting.tlsCertificate.flag) '\(certificate)' is not a PEM certificate file: \(error)")
        }
        guard !chain.isEmpty else {
            throw UsageError("\(ServeSetting.tlsCertificate.flag) '\(certificate)' holds no certificate")
        }
        let privateKey: NIOSSLPrivateKey
        do {
            privateKey = try NIOSSLPrivateKey(file: key, format: .pem)
        } catch {
            throw UsageError("\(ServeSetting.tlsKey.flag) '\(key)' is not a PEM private key file: \(error)")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(privateKey))
        // NIOSSL's server default still takes TLS 1.0 and 1.1, which browsers and RFC 8996 retired.
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = ["http/1.1"]
        return configuration
    }
}
