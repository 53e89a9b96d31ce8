import AsyncHTTPClient
import NIOSSL

/// How a client reaches a `shoal serve` admin API over HTTPS (`--admin-tls-cert`): the CA
/// certificates its certificate must chain to, and for mutual TLS (`--admin-tls-client-ca`)
/// the client's own certificate and key. ``HTTPRegistryClient`` and ``HTTPLockClient`` take
/// one; `ApplicationRegistration` and ``ServiceClient`` reach the registry through an
/// ``HTTPRegistryClient`` made with it.
public struct AdminTrust: Sendable, Equatable {
    /// A PEM file of the CA certificates to trust.
    public var caFile: String
    /// The client's certificate chain and key (PEM), for mutual TLS.
    public var certificateFile: String?
    public var keyFile: String?

    public init(caFile: String, certificateFile: String? = nil, keyFile: String? = nil) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
    }

    /// An HTTP client configuration that fails fast on a refused connection, as the admin
    /// clients' own, and trusts only ``caFile``.
    ///
    /// - Throws: ``AdminTrustError`` naming a file that cannot be read, or a certificate
    ///   given without its key.
    public func httpClientConfiguration() throws(AdminTrustError) -> HTTPClient.Configuration {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        do {
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
        } catch {
            throw AdminTrustError("the CA file '\(caFile)' is not a PEM certificate file: \(error)")
        }
        switch (certificateFile, keyFile) {
        case (nil, nil):
            break
        case (let certificate?, let key?):
            do {
                tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            } catch {
                throw AdminTrustError("the client certificate '\(certificate)' or key '\(key)' cannot be read: \(error)")
            }
        default:
            throw AdminTrustError("a client certificate needs its key, and a key its certificate")
        }
        var configuration = HTTPClient.Configuration.failingFast
        configuration.tlsConfiguration = tls
        return configuration
    }
}

/// TLS files for an admin client that cannot be used, with what is wrong.
public struct AdminTrustError: Error, Sendable, CustomStringConvertible {
    public let message: String

    init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
