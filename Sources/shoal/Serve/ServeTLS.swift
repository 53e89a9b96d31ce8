import NIOSSL

/// The gateway's TLS server configuration, from the PEM files `--tls-cert` and `--tls-key`
/// and the certificates of `--tls-dir`, chosen by SNI (see ``SNICertificates``).
enum ServeTLS {
    /// The configuration `settings` ask for; `nil` for plain HTTP.
    static func configuration(_ settings: ServeSettings) throws(UsageError) -> TLSConfiguration? {
        guard
            var configuration = try configuration(
                certificate: settings.tlsCertificate, key: settings.tlsKey, directory: settings.tlsDirectory)
        else {
            if settings.tlsClientCA != nil {
                throw UsageError(
                    "\(ServeSetting.tlsClientCA.flag) needs TLS: give \(ServeSetting.tlsCertificate.flag) and \(ServeSetting.tlsKey.flag), or \(ServeSetting.tlsDirectory.flag)"
                )
            }
            return nil
        }
        if let clientCA = settings.tlsClientCA {
            try requireClientCertificates(from: clientCA, source: ServeSetting.tlsClientCA.flag, in: &configuration)
        }
        return configuration
    }

    /// Makes `configuration` ask every client for a certificate and refuse the handshake
    /// unless one comes that chains to a CA certificate in the PEM file `path`. (No host
    /// name is checked: a client's certificate names the client, not this server.)
    static func requireClientCertificates(
        from path: String, source: String, in configuration: inout TLSConfiguration
    ) throws(UsageError) {
        let authorities = try certificates(in: path, source: source)
        configuration.trustRoots = .certificates(authorities)
        configuration.certificateVerification = .noHostnameVerification
        // Clients holding several certificates can pick the one these CAs issued.
        configuration.sendCANameList = true
    }

    /// The configuration for the default certificate chain in `certificate` and its key in
    /// `key`, with the certificates in `directory` for the names they serve; `nil` when none
    /// is given. Without `certificate`, the directory's first certificate is the default.
    ///
    /// - Throws: `UsageError` when only one of `certificate` and `key` is given, or a file
    ///   does not hold what it should.
    private static func configuration(certificate: String?, key: String?, directory: String?) throws(UsageError)
        -> TLSConfiguration?
    {
        guard certificate != nil || key != nil || directory != nil else { return nil }
        let sni = try directory.map { directory throws(UsageError) in
            try SNICertificates(SNICertificates.load(directory: directory))
        }
        let chain: [NIOSSLCertificate]
        let privateKey: NIOSSLPrivateKey
        if certificate != nil || key != nil {
            guard let certificate, let key else {
                throw UsageError(
                    "TLS needs both a certificate chain and its key: give \(ServeSetting.tlsCertificate.flag) and \(ServeSetting.tlsKey.flag) (or neither)"
                )
            }
            (chain, privateKey) = try pair(certificate: certificate, key: key, source: nil)
        } else if let first = sni?.entries.first {
            (chain, privateKey) = (first.chain, first.key)
        } else {
            return nil
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(privateKey))
        // NIOSSL's server default still takes TLS 1.0 and 1.1, which browsers and RFC 8996 retired.
        configuration.minimumTLSVersion = .tlsv12
        // HTTP/2 first, as browsers and curl ask (RFC 7301); the gateway serves both.
        configuration.applicationProtocols = ["h2", "http/1.1"]
        if let sni {
            configuration.sslContextCallback = { hello, promise in
                promise.succeed(sni.override(for: hello.serverHostname))
            }
        }
        return configuration
    }

    /// The certificate chain in `certificate` and the private key in `key`, checked to be a
    /// pair; `source` names where they came from in messages (the flags when `nil`).
    static func pair(
        certificate: String, key: String, source: String?, flags: (String, String)? = nil
    ) throws(UsageError) -> (
        [NIOSSLCertificate], NIOSSLPrivateKey
    ) {
        let keySource = source ?? flags?.1 ?? ServeSetting.tlsKey.flag
        let chain = try certificates(in: certificate, source: source ?? flags?.0 ?? ServeSetting.tlsCertificate.flag)
        let privateKey: NIOSSLPrivateKey
        do {
            privateKey = try NIOSSLPrivateKey(file: key, format: .pem)
        } catch {
            throw UsageError("\(keySource) '\(key)' is not a PEM private key file: \(error)")
        }
        // The gateway flags' pair is checked when the gateway makes its context; another pair
        // would only fail in a handshake, so it is checked here.
        if source != nil || flags != nil {
            do {
                _ = try NIOSSLContext(
                    configuration: .makeServerConfiguration(
                        certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(privateKey)))
            } catch {
                if key == certificate {
                    throw UsageError(
                        "\(keySource) '\(key)' holds a private key that is not its certificate's: \(error)")
                }
                throw UsageError("\(keySource) '\(key)' is not the key of '\(certificate)': \(error)")
            }
        }
        return (chain, privateKey)
    }

    /// The certificates in the PEM file `path`, at least one; `source` (a flag) names it in
    /// messages.
    static func certificates(in path: String, source: String) throws(UsageError) -> [NIOSSLCertificate] {
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(path)
        } catch {
            throw UsageError("\(source) '\(path)' is not a PEM certificate file: \(error)")
        }
        guard !certificates.isEmpty else { throw UsageError("\(source) '\(path)' holds no certificate") }
        return certificates
    }
}
