import Foundation
import ShoalTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("shoal serve --tls-dir: certificates chosen by the name the client asks for (SNI)", .serialized)
struct GatewaySNITests {
    /// A TLS handshake with the gateway, asking for `name` (none when `nil`): whether the
    /// certificate it got verifies against the test CA for `verifying`, and its subject line.
    static func handshake(
        port: Int, name: String?, verifying: String, trusting certificates: TestCertificates
    ) async throws -> (verified: Bool, subject: String) {
        let result = try await blocking {
            try ChildProcess.run(
                URL(fileURLWithPath: "/usr/bin/openssl"),
                ["s_client", "-connect", "127.0.0.1:\(port)", "-CAfile", certificates.caCertificate]
                    + (name.map { ["-servername", $0] } ?? ["-noservername"])
                    + ["-verify_hostname", verifying, "-verify_return_error"], stdin: Data())
        }
        let subject = result.output.split(separator: "\n").first { $0.hasPrefix("subject=") }.map(String.init) ?? ""
        return (result.status == 0 && result.output.contains("Verify return code: 0 (ok)"), subject)
    }

    @Test(
        "each name gets the certificate serving it, exact before wildcard; others get the default; SIGHUP adds new ones"
    )
    func choosesByName() async throws {
        let scratch = try CertificateScratch()
        defer { scratch.remove() }
        let (certificates, directory) = (scratch.certificates, scratch.directory)
        try certificates.issue("a", hosts: ["a.test"], into: directory)
        try certificates.issue("wild", hosts: ["*.b.test", "b.test"], into: directory)
        try certificates.issue("exact", hosts: ["x.b.test"], into: directory)
        let serve = try await ServeProcess([
            "--tls-cert", certificates.serverCertificate, "--tls-key", certificates.serverKey,
            "--tls-dir", directory.path,
        ])
        defer { serve.stop() }
        let port = serve.gatewayPort
        func check(_ name: String?, verifying: String, subject: String) async throws {
            let (verified, seen) = try await Self.handshake(
                port: port, name: name, verifying: verifying, trusting: certificates)
            #expect(verified, "\(name ?? "no name"): \(seen)")
            #expect(seen.replacing(" ", with: "").hasSuffix("CN=\(subject)"), "\(name ?? "no name"): \(seen)")
        }
        try await check("a.test", verifying: "a.test", subject: "a.test")
        try await check("A.Test", verifying: "a.test", subject: "a.test")  // names are not case-sensitive
        try await check("b.test", verifying: "b.test", subject: "*.b.test")
        try await check("y.b.test", verifying: "y.b.test", subject: "*.b.test")
        try await check("x.b.test", verifying: "x.b.test", subject: "x.b.test")  // exact before wildcard
        try await check("z.y.b.test", verifying: "localhost", subject: "localhost")  // a wildcard is one label
        try await check("other.test", verifying: "localhost", subject: "localhost")
        try await check(nil, verifying: "localhost", subject: "localhost")

        // A certificate added later is served after SIGHUP, not before.
        try certificates.issue("c", hosts: ["c.test"], into: directory)
        try await check("c.test", verifying: "localhost", subject: "localhost")
        serve.shoal.process.signal(SIGHUP)
        #expect(await eventually(within: 10) { serve.shoal.stderr.contains("SIGHUP: new connections get") })
        try await check("c.test", verifying: "c.test", subject: "c.test")
    }

    @Test("without --tls-cert the directory's first certificate is the default")
    func directoryAlone() async throws {
        let scratch = try CertificateScratch()
        defer { scratch.remove() }
        let (certificates, directory) = (scratch.certificates, scratch.directory)
        try certificates.issue("b", hosts: ["b.test"], into: directory)
        try certificates.issue("a", hosts: ["a.test"], into: directory)
        let serve = try await ServeProcess(["--tls-dir", directory.path])
        defer { serve.stop() }
        #expect(serve.shoal.stderr.contains("gateway on https://127.0.0.1:"))
        let port = serve.gatewayPort
        #expect(
            try await Self.handshake(port: port, name: "b.test", verifying: "b.test", trusting: certificates).verified)
        #expect(try await Self.handshake(port: port, name: nil, verifying: "a.test", trusting: certificates).verified)
    }

    @Test("a certificate file that holds its key too (as HAProxy takes them) needs no NAME.key; a wrong one exits 2")
    func combinedFile() async throws {
        let scratch = try CertificateScratch()
        defer { scratch.remove() }
        let (certificates, directory) = (scratch.certificates, scratch.directory)
        try certificates.issue("c", hosts: ["c.test"], into: directory)
        let pem = directory.appendingPathComponent("c.pem")
        let key = directory.appendingPathComponent("c.key")
        // The key first, then the chain: the order in the file does not matter.
        try (try Data(contentsOf: key) + (try Data(contentsOf: pem))).write(to: pem)
        try FileManager.default.removeItem(at: key)
        let serve = try await ServeProcess(["--tls-dir", directory.path])
        let handshake = try await Self.handshake(
            port: serve.gatewayPort, name: "c.test", verifying: "c.test", trusting: certificates)
        serve.stop()
        #expect(handshake.verified, "\(handshake)")

        // Another key in the file: refused at start, naming the file.
        let chain = try String(contentsOf: pem, encoding: .utf8).components(separatedBy: "-----BEGIN CERTIFICATE-----")
        let otherKey = try String(contentsOfFile: certificates.serverKey, encoding: .utf8)
        try
            (otherKey + "-----BEGIN CERTIFICATE-----"
            + chain.dropFirst().joined(separator: "-----BEGIN CERTIFICATE-----"))
            .write(to: pem, atomically: true, encoding: .utf8)
        let wrong = try await ShoalProcess.run([
            "serve", "--admin", "127.0.0.1:0", "--listen", "127.0.0.1:0", "--tls-dir", directory.path,
        ])
        #expect(
            wrong.status == 2
                && wrong.stderr.contains("'\(pem.path)' holds a private key that is not its certificate's"),
            "\(wrong.stderr)")
    }

    @Test("a directory without pairs, a lone file, a key that is not its certificate's, or a name twice exits 2")
    func badDirectories() async throws {
        let scratch = try CertificateScratch()
        defer { scratch.remove() }
        let (certificates, directory) = (scratch.certificates, scratch.directory)
        let serve = ["serve", "--admin", "127.0.0.1:0", "--listen", "127.0.0.1:0", "--tls-dir", directory.path]
        func refused(_ expected: String) async throws {
            let result = try await ShoalProcess.run(serve)
            #expect(result.status == 2 && result.stderr.contains(expected), "\(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        }
        try await refused("holds no NAME.pem")
        let missing = try await ShoalProcess.run(
            ["serve", "--admin", "127.0.0.1:0", "--listen", "127.0.0.1:0", "--tls-dir", "/no/such/dir"])
        #expect(missing.status == 2 && missing.stderr.contains("cannot read the directory"), "\(missing.stderr)")

        try certificates.issue("a", hosts: ["a.test"], into: directory)
        let key = directory.appendingPathComponent("a.key").path
        let aside = directory.appendingPathComponent("a.key.aside").path
        try FileManager.default.moveItem(atPath: key, toPath: aside)
        try await refused("'a.pem' in '\(directory.path)' has no key, neither beside it (a.key) nor in it")
        try FileManager.default.copyItem(atPath: certificates.serverKey, toPath: key)
        try await refused("is not the key of")
        try FileManager.default.removeItem(atPath: key)
        try FileManager.default.moveItem(atPath: aside, toPath: key)

        try certificates.issue("again", hosts: ["a.test"], into: directory)
        try await refused("both serve a.test")
        try FileManager.default.removeItem(at: directory.appendingPathComponent("again.pem"))
        try await refused("'again.key' in '\(directory.path)' has no certificate beside it")
    }
}

/// A throw-away CA and an empty directory for `--tls-dir`, removed together.
struct CertificateScratch {
    let certificates: TestCertificates
    let directory: URL

    init() throws {
        certificates = try TestCertificates.make()
        directory = try scratchDirectory()
    }

    func remove() {
        try? FileManager.default.removeItem(at: certificates.directory)
        try? FileManager.default.removeItem(at: directory)
    }
}
