import Foundation
import ShoalTesting
import Testing

@Suite("shoal serve --tls-client-ca: mutual TLS on the gateway", .serialized)
struct GatewayClientCertificateTests {
    /// A request over TLS through `openssl s_client`, with the client certificate and key in
    /// `directory` named `client` (none when `nil`): what came back, handshake and HTTP.
    static func request(
        port: Int, client: String?, in directory: URL, trusting certificates: TestCertificates,
        path: String = "/nowhere", headers: String = ""
    ) async throws -> String {
        let identity =
            client.map {
                [
                    "-cert", directory.appendingPathComponent("\($0).pem").path, "-key",
                    directory.appendingPathComponent("\($0).key").path,
                ]
            } ?? []
        let result = try await blocking {
            try ChildProcess.run(
                URL(fileURLWithPath: "/usr/bin/openssl"),
                ["s_client", "-connect", "127.0.0.1:\(port)", "-CAfile", certificates.caCertificate, "-ign_eof"]
                    + identity,
                stdin: Data("GET \(path) HTTP/1.1\r\nHost: a\r\n\(headers)Connection: close\r\n\r\n".utf8))
        }
        return result.output + result.stderr
    }

    @Test("a certificate from the given CA gets through; none, or one from another CA, ends the handshake")
    func requiresClientCertificates() async throws {
        let certificates = try TestCertificates.make()
        let stranger = try TestCertificates.make()
        let clients = try scratchDirectory()
        defer {
            for directory in [certificates.directory, stranger.directory, clients] {
                try? FileManager.default.removeItem(at: directory)
            }
        }
        try certificates.issue("trusted", hosts: ["client.test"], into: clients)
        try stranger.issue("untrusted", hosts: ["client.test"], into: clients)
        let serve = try await ServeProcess([
            "--tls-cert", certificates.serverCertificate, "--tls-key", certificates.serverKey,
            "--tls-client-ca", certificates.caCertificate,
        ])
        defer { serve.stop() }
        let port = serve.gatewayPort
        let trusted = try await Self.request(port: port, client: "trusted", in: clients, trusting: certificates)
        #expect(trusted.contains("HTTP/1.1 404 Not Found"), "\(trusted)")
        let anonymous = try await Self.request(port: port, client: nil, in: clients, trusting: certificates)
        #expect(!anonymous.contains("HTTP/1.1"), "\(anonymous)")
        #expect(anonymous.contains("alert certificate required"), "\(anonymous)")
        let untrusted = try await Self.request(port: port, client: "untrusted", in: clients, trusting: certificates)
        #expect(!untrusted.contains("HTTP/1.1"), "\(untrusted)")
        #expect(untrusted.contains("alert unknown ca"), "\(untrusted)")
        #expect(serve.shoal.process.isRunning)
    }

    @Test("instances get X-Forwarded-Client-Cert for the client's certificate, never one the client sent")
    func forwardsTheCertificate() async throws {
        let certificates = try TestCertificates.make()
        let clients = try scratchDirectory()
        let web = try await SampleServiceProcess(name: "web-1")
        defer {
            web.stop()
            for directory in [certificates.directory, clients] { try? FileManager.default.removeItem(at: directory) }
        }
        try certificates.issue("trusted", hosts: ["client.test"], into: clients)
        let serve = try await ServeProcess(
            [
                "--tls-cert", certificates.serverCertificate, "--tls-key", certificates.serverKey,
                "--tls-client-ca", certificates.caCertificate,
            ], config: GatewayTests.routes)
        defer { serve.stop() }
        try await serve.register("web", web)
        let port = serve.gatewayPort
        func echo() async throws -> String {
            try await Self.request(
                port: port, client: "trusted", in: clients, trusting: certificates, path: "/api/echo",
                headers: "X-Forwarded-Client-Cert: Hash=forged\r\n")
        }
        #expect(await eventually(within: 10) { (try? await echo())?.contains("x-backend: web-1") == true })
        let echoed = try await echo()
        // The fingerprint as openssl computes it, against the gateway's own hash.
        let fingerprint = try await blocking {
            try ChildProcess.run(
                URL(fileURLWithPath: "/usr/bin/openssl"),
                [
                    "x509", "-in", clients.appendingPathComponent("trusted.pem").path, "-noout", "-fingerprint",
                    "-sha256",
                ])
        }
        let hash = (fingerprint.output.split(separator: "=").last ?? "").lowercased().filter(\.isHexDigit)
        #expect(hash.count == 64, "\(fingerprint.output)")
        let expected = #"["x-forwarded-client-cert","Hash=\#(hash);Subject=\"CN=client.test\";DNS=client.test"]"#
        #expect(echoed.contains(expected), "\(echoed)")
        #expect(!echoed.contains("forged"), "\(echoed)")

        // The same over HTTP/2: a stream finds the certificate on its connection.
        let h2 = try await GatewayHTTP2Tests.curl([
            "--http2", "--cacert", certificates.caCertificate, "--cert", clients.appendingPathComponent("trusted.pem").path,
            "--key", clients.appendingPathComponent("trusted.key").path, "-H", "X-Forwarded-Client-Cert: Hash=forged",
            "-w", "\n%{http_version}", "https://127.0.0.1:\(port)/api/echo",
        ])
        #expect(h2.hasSuffix("\n2"), "\(h2)")
        #expect(h2.contains(expected), "\(h2)")
        #expect(!h2.contains("forged"), "\(h2)")
    }

    @Test("--tls-client-ca without TLS, or a file that is not PEM, exits 2 naming the flag")
    func badSettings() async throws {
        let certificates = try TestCertificates.make()
        defer { try? FileManager.default.removeItem(at: certificates.directory) }
        let notCertificates = certificates.directory.appendingPathComponent("not-certificates.txt").path
        try "not a certificate\n".write(toFile: notCertificates, atomically: true, encoding: .utf8)
        let serve = ["serve", "--admin", "127.0.0.1:0", "--listen", "127.0.0.1:0"]
        let plain = try await ShoalProcess.run(serve + ["--tls-client-ca", certificates.caCertificate])
        #expect(plain.status == 2 && plain.stderr.contains("--tls-client-ca needs TLS"), "\(plain.stderr)")
        let notPEM = try await ShoalProcess.run(
            serve + [
                "--tls-cert", certificates.serverCertificate, "--tls-key", certificates.serverKey,
                "--tls-client-ca", notCertificates,
            ])
        #expect(
            notPEM.status == 2 && notPEM.stderr.contains("--tls-client-ca '\(notCertificates)'"), "\(notPEM.stderr)")
    }
}
