import Foundation
import NIOSSL
import X509

/// The certificates of `--tls-dir`, chosen for each TLS connection by the host name the
/// client asks for in its hello (SNI, RFC 6066 §3), as HAProxy's `crt DIR` does.
///
/// Each `NAME.pem` or `NAME.crt` in the directory (a certificate chain) goes with the
/// `NAME.key` beside it, or with the private key in the same file. A certificate serves the DNS names of its subjectAlternativeName
/// extension; `*.example.com` serves any one label in front of `example.com`. An exact name
/// wins over a wildcard; a name no certificate serves, or no name at all, gets the default
/// certificate (`--tls-cert`, else the directory's first by file name).
struct SNICertificates: Sendable {
    /// One certificate chain with its key, and the names it serves (lowercase).
    struct Entry: Sendable {
        let file: String
        let names: [String]
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
    }

    let entries: [Entry]
    /// Entry indices by exact name, and by the domain under a wildcard (`example.com` for
    /// `*.example.com`).
    private let exact: [String: Int]
    private let wildcard: [String: Int]

    /// - Throws: `UsageError` when two certificates claim the same name.
    init(_ entries: [Entry]) throws(UsageError) {
        var exact: [String: Int] = [:]
        var wildcard: [String: Int] = [:]
        for (index, entry) in entries.enumerated() {
            for name in entry.names {
                let isWildcard = name.hasPrefix("*.")
                let key = isWildcard ? String(name.dropFirst(2)) : name
                if let other = isWildcard ? wildcard[key] : exact[key] {
                    throw UsageError(
                        "--tls-dir: '\(entries[other].file)' and '\(entry.file)' both serve \(name); keep one")
                }
                if isWildcard { wildcard[key] = index } else { exact[key] = index }
            }
        }
        self.entries = entries
        self.exact = exact
        self.wildcard = wildcard
    }

    /// The certificate for `hostname`, if one serves it.
    func entry(for hostname: String) -> Entry? {
        var name = hostname.lowercased()
        if name.hasSuffix(".") { name.removeLast() }  // a fully qualified name's root
        if let index = exact[name] { return entries[index] }
        guard let dot = name.firstIndex(of: "."), let index = wildcard[String(name[name.index(after: dot)...])]
        else { return nil }
        return entries[index]
    }

    /// What a TLS hello naming a host gets: the certificate serving that name, or no change
    /// (the default certificate).
    func override(for hostname: String?) -> NIOSSLContextConfigurationOverride {
        guard let hostname, let entry = entry(for: hostname) else { return .noChanges }
        var override = NIOSSLContextConfigurationOverride()
        override.certificateChain = entry.chain.map { .certificate($0) }
        override.privateKey = .privateKey(entry.key)
        return override
    }

    /// Reads every certificate and key pair in `directory`, by file name.
    ///
    /// - Throws: `UsageError` naming the file: a directory that cannot be read or holds no
    ///   pair, a certificate without its key or a key without its certificate, a file that
    ///   does not load, a key that is not its certificate's, or a certificate that names no
    ///   DNS host.
    static func load(directory: String) throws(UsageError) -> [Entry] {
        let files: [String]
        do {
            files = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        } catch {
            throw UsageError("--tls-dir: cannot read the directory '\(directory)': \(error.localizedDescription)")
        }
        func stem(_ file: String) -> String { (file as NSString).deletingPathExtension }
        let certificates = files.filter { $0.hasSuffix(".pem") || $0.hasSuffix(".crt") }
        let keys = Set(files.filter { $0.hasSuffix(".key") })
        if let orphan = keys.sorted().first(where: { key in !certificates.contains { stem($0) == stem(key) } }) {
            throw UsageError(
                "--tls-dir: '\(orphan)' in '\(directory)' has no certificate beside it (\(stem(orphan)).pem)")
        }
        var entries: [Entry] = []
        for file in certificates {
            let path = (directory as NSString).appendingPathComponent(file)
            let keyFile = stem(file) + ".key"
            let keyPath: String
            if keys.contains(keyFile) {
                keyPath = (directory as NSString).appendingPathComponent(keyFile)
            } else if holdsPrivateKey(path) {
                keyPath = path  // the chain and its key in one file, as HAProxy takes them
            } else {
                throw UsageError(
                    "--tls-dir: '\(file)' in '\(directory)' has no key, neither beside it (\(keyFile)) nor in it")
            }
            let (chain, key) = try ServeTLS.pair(certificate: path, key: keyPath, source: "--tls-dir")
            let names = try dnsNames(of: chain[0], file: path)
            entries.append(Entry(file: path, names: names, chain: chain, key: key))
        }
        guard !entries.isEmpty else {
            throw UsageError("--tls-dir: '\(directory)' holds no NAME.pem (or NAME.crt) with its private key")
        }
        return entries
    }

    /// Whether the PEM file at `path` also holds a private key (`-----BEGIN … PRIVATE KEY-----`).
    private static func holdsPrivateKey(_ path: String) -> Bool {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return false }
        return text.split(separator: "\n").contains { $0.hasPrefix("-----BEGIN ") && $0.hasSuffix("PRIVATE KEY-----") }
    }

    /// The DNS names of the certificate's subjectAlternativeName extension, lowercase.
    private static func dnsNames(of certificate: NIOSSLCertificate, file: String) throws(UsageError) -> [String] {
        var names: [String] = []
        do {
            let parsed = try Certificate(derEncoded: try certificate.toDERBytes())
            for name in try parsed.extensions.subjectAlternativeNames.map(Array.init) ?? [] {
                if case .dnsName(let dns) = name, !names.contains(dns.lowercased()) { names.append(dns.lowercased()) }
            }
        } catch {
            throw UsageError("--tls-dir: '\(file)' cannot be read as an X.509 certificate: \(error)")
        }
        guard !names.isEmpty else {
            throw UsageError(
                "--tls-dir: '\(file)' names no DNS host in its subjectAlternativeName, so no client could ask for it")
        }
        return names
    }
}
