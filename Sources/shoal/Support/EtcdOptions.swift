import ArgumentParser
import Foundation
import ShoalEtcd

/// `--etcd ENDPOINTS` (or `SHOAL_ETCD_ENDPOINTS`) and its TLS and authentication flags,
/// shared by the commands that talk to etcd.
struct EtcdOptions: ParsableArguments {
    @Option(
        help:
            "The etcd cluster's members, comma-separated: http://HOST:PORT,… (https:// for TLS). Default: $SHOAL_ETCD_ENDPOINTS."
    )
    var etcd: String?

    @Option(name: .customLong("etcd-ca"), help: "For https:// members: the CA certificates to trust (PEM).")
    var etcdCA: String?

    @Option(
        name: .customLong("etcd-cert"),
        help: "For members that ask for client certificates: this certificate chain (PEM), with --etcd-key.")
    var etcdCertificate: String?

    @Option(name: .customLong("etcd-key"), help: "The private key of --etcd-cert (PEM).")
    var etcdKey: String?

    @Option(
        name: .customLong("etcd-user"),
        help: "etcd's user name, when etcd's authentication is on. Default: $SHOAL_ETCD_USER.")
    var etcdUser: String?

    @Option(
        name: .customLong("etcd-password"),
        help: "The password of --etcd-user. Default: $SHOAL_ETCD_PASSWORD.")
    var etcdPassword: String?

    /// The endpoints given, by flag or environment; `nil` when neither names any.
    var endpoints: String? { etcd ?? ProcessInfo.processInfo.environment["SHOAL_ETCD_ENDPOINTS"] }

    /// The configuration the flags describe, or `nil` when no endpoints were given (then no
    /// other etcd flag may be).
    func configurationIfGiven() throws(UsageError) -> EtcdConfiguration? {
        guard let endpoints else {
            if etcdCA != nil || etcdCertificate != nil || etcdKey != nil || etcdUser != nil || etcdPassword != nil {
                throw UsageError("--etcd-ca, --etcd-cert, --etcd-key, --etcd-user and --etcd-password go with --etcd")
            }
            return nil
        }
        let environment = ProcessInfo.processInfo.environment
        let user = etcdUser ?? environment["SHOAL_ETCD_USER"]
        return try Self.configuration(
            endpoints: endpoints, ca: etcdCA, certificate: etcdCertificate, key: etcdKey, user: user,
            password: etcdPassword ?? (user != nil ? environment["SHOAL_ETCD_PASSWORD"] : nil))
    }

    /// The configuration for comma-separated `endpoints`, with TLS files (checked to be
    /// readable) and credentials.
    static func configuration(
        endpoints: String, ca: String?, certificate: String?, key: String?, user: String?, password: String?
    ) throws(UsageError) -> EtcdConfiguration {
        let parsed: [EtcdEndpoint]
        do {
            parsed = try EtcdEndpoint.list(endpoints)
        } catch {
            throw UsageError("--etcd: \(error.message)")
        }
        let secure = parsed.contains(where: \.secure)
        if (ca != nil || certificate != nil || key != nil) && !secure {
            throw UsageError("--etcd-ca, --etcd-cert and --etcd-key go with https:// etcd members")
        }
        if (certificate == nil) != (key == nil) { throw UsageError("--etcd-cert and --etcd-key go together") }
        for (flag, file) in [("--etcd-ca", ca), ("--etcd-cert", certificate), ("--etcd-key", key)] {
            if let file, !FileManager.default.isReadableFile(atPath: file) {
                throw UsageError("\(flag): cannot read '\(file)'")
            }
        }
        if password != nil && user == nil { throw UsageError("--etcd-password goes with --etcd-user") }
        if let user, user.isEmpty { throw UsageError("--etcd-user must not be empty") }
        return EtcdConfiguration(
            endpoints: parsed, username: user, password: password,
            tls: EtcdTLS(caFile: ca, certificateFile: certificate, keyFile: key))
    }
}
