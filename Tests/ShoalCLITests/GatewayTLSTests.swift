import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL
import ShoalTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("shoal serve --tls-cert/--tls-key: HTTPS on the gateway", .serialized)
struct GatewayTLSTests {
    /// An HTTPS client that trusts only the test CA.
    static func client(trusting certificates: TestCertificates) -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(certificates.caCertificate)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
    }

    /// GET `path` over HTTPS: the status, the `x-backend` header and the body.
    static func get(_ client: HTTPClient, port: Int, _ path: String, headers: [(String, String)] = []) async throws
        -> (Int, String?, String)
    {
        var request = HTTPClientRequest(url: "https://127.0.0.1:\(port)\(path)")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await client.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), response.headers.first(name: "x-backend"), String(buffer: body))
    }

    @Test("the gateway takes HTTPS and tells the instance so; plain HTTP on its port is closed, and it stays up")
    func https() async throws {
        let certificates = try TestCertificates.make()
        let web = try await SampleServiceProcess(name: "web-1")
        let serve = try await ServeProcess(
            ["--tls-cert", certificates.serverCertificate, "--tls-key", certificates.serverKey],
            config: GatewayTests.routes)
        let client = Self.client(trusting: certificates)
        defer {
            web.stop()
            serve.stop()
            try? FileManager.default.removeItem(at: certificates.directory)
        }
        #expect(serve.shoal.stderr.contains("gateway on https://127.0.0.1:"))
        try await serve.register("web", web)
        let port = serve.gatewayPort
        #expect(await eventually(within: 10) { (try? await Self.get(client, port: port, "/api/x"))?.1 == "web-1" })

        // A client over TLS cannot vouch for a certificate of its own: the field is dropped.
        let (status, _, body) = try await Self.get(
            client, port: port, "/api/echo", headers: [("X-Forwarded-Client-Cert", "Hash=forged")])
        #expect(status == 200)
        let echoed = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        let headers = (echoed?["headers"] as? [[String]] ?? []).filter { $0.count == 2 }
        #expect(headers.first { $0[0] == "x-forwarded-proto" }?[1] == "https", "\(headers)")
        #expect(!headers.contains { $0[0] == "x-forwarded-client-cert" }, "\(headers)")

        // Plain HTTP where TLS is expected: no HTTP answer, the connection closes.
        let answer = try await blocking {
            let plain = try RawConnection(port: port, timeout: 5)
            plain.send("GET /api/x HTTP/1.1\r\nHost: a\r\n\r\n")
            return plain.receiveUntilClosed()
        }
        #expect(!String(decoding: answer.bytes, as: UTF8.self).contains("HTTP/1.1"))
        #expect(answer.end == .closed, "the gateway held the connection open")
        #expect(serve.shoal.process.isRunning)
        #expect(try await Self.get(client, port: port, "/api/x").0 == 200)
        try await client.shutdown()

        // TLS 1.1 is refused with a protocol_version alert; 1.2 is the least it takes.
        let openssl = URL(fileURLWithPath: "/usr/bin/openssl")
        func handshake(_ version: String) async throws -> ChildProcess.Result {
            try await blocking {
                try ChildProcess.run(
                    openssl,
                    ["s_client", "-connect", "127.0.0.1:\(port)", version, "-CAfile", certificates.caCertificate],
                    stdin: Data())
            }
        }
        let old = try await handshake("-tls1_1")
        #expect(old.status != 0 && (old.output + old.stderr).contains("alert protocol version"), "\(old.stderr)")
        let current = try await handshake("-tls1_2")
        #expect(current.status == 0 && current.output.contains("TLSv1.2"), "\(current.stderr)")
    }

    @Test("a key that is not the certificate's, or one of the two files alone, exits 2 naming the flags")
    func badFiles() async throws {
        let certificates = try TestCertificates.make()
        let other = try TestCertificates.make()
        defer {
            try? FileManager.default.removeItem(at: certificates.directory)
            try? FileManager.default.removeItem(at: other.directory)
        }
        let serve = ["serve", "--admin", "127.0.0.1:0", "--listen", "127.0.0.1:0"]
        let mismatched = try await ShoalProcess.run(
            serve + ["--tls-cert", certificates.serverCertificate, "--tls-key", other.serverKey])
        #expect(mismatched.status == 2)
        #expect(mismatched.stderr.contains("--tls-key"), "\(mismatched.stderr)")
        let alone = try await ShoalProcess.run(serve + ["--tls-cert", certificates.serverCertificate])
        #expect(alone.status == 2 && alone.stderr.contains("--tls-key"), "\(alone.stderr)")
        let notPEM = try await ShoalProcess.run(
            serve + ["--tls-cert", certificates.serverKey, "--tls-key", certificates.serverKey])
        #expect(notPEM.status == 2 && notPEM.stderr.contains("--tls-cert"), "\(notPEM.stderr)")
    }

    /// Whether a TLS handshake with the gateway verifies against the CA in `certificates`.
    static func verifies(port: Int, trusting certificates: TestCertificates) async throws -> Bool {
        let result = try await blocking {
            try ChildProcess.run(
                URL(fileURLWithPath: "/usr/bin/openssl"),
                [
                    "s_client", "-connect", "127.0.0.1:\(port)", "-CAfile", certificates.caCertificate,
                    "-verify_return_error",
                ], stdin: Data())
        }
        return result.status == 0 && result.output.contains("Verify return code: 0 (ok)")
    }

    @Test("SIGHUP reads the certificate and key again for new connections; files that do not load leave the old ones")
    func reload() async throws {
        let first = try TestCertificates.make()
        let second = try TestCertificates.make()
        let files = try scratchDirectory()
        defer {
            for directory in [first.directory, second.directory, files] {
                try? FileManager.default.removeItem(at: directory)
            }
        }
        let certificate = files.appendingPathComponent("cert.pem").path
        let key = files.appendingPathComponent("key.pem").path
        try FileManager.default.copyItem(atPath: first.serverCertificate, toPath: certificate)
        try FileManager.default.copyItem(atPath: first.serverKey, toPath: key)
        let serve = try await ServeProcess(["--tls-cert", certificate, "--tls-key", key])
        defer { serve.stop() }
        let port = serve.gatewayPort
        #expect(try await Self.verifies(port: port, trusting: first))

        // A renewal: new files at the same paths.
        for (source, destination) in [(second.serverCertificate, certificate), (second.serverKey, key)] {
            try FileManager.default.removeItem(atPath: destination)
            try FileManager.default.copyItem(atPath: source, toPath: destination)
        }
        serve.shoal.process.signal(SIGHUP)
        #expect(await eventually(within: 10) { serve.shoal.stderr.contains("SIGHUP: new connections get") })
        #expect(try await Self.verifies(port: port, trusting: second))
        #expect(try await !Self.verifies(port: port, trusting: first))

        // A key file that does not load: the certificate in use stays.
        try Data("not a key".utf8).write(to: URL(fileURLWithPath: key))
        serve.shoal.process.signal(SIGHUP)
        #expect(await eventually(within: 10) { serve.shoal.stderr.contains("the certificate in use stays") })
        #expect(try await Self.verifies(port: port, trusting: second))
        #expect(serve.shoal.process.isRunning)
    }
}
