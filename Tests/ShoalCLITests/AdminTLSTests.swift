import Foundation
import ShoalClient
import ShoalCore
import ShoalDiscovery
import ShoalTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The admin API over HTTPS, with and without client certificates, against curl, openssl
/// and the Swift clients.
@Suite("the admin API over TLS: server and client certificates, reloads, and the clients that use it", .serialized)
struct AdminTLSTests {
    /// curl's exit status and standard output for a request to the admin API.
    static func curl(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        let result = try await blocking {
            try ChildProcess.run(
                URL(fileURLWithPath: "/usr/bin/curl"), ["-s", "--max-time", "10", "-o", "-", "-w", " %{http_code}"] + arguments)
        }
        return (result.status, result.output)
    }

    /// `shoal serve` with an HTTPS admin listener (mutual TLS when `clientCA`), in `files`.
    static func serve(_ certificates: TestCertificates, clientCA: Bool, extra: [String] = []) async throws -> ServeProcess {
        var arguments = ["--admin-tls-cert", certificates.serverCertificate, "--admin-tls-key", certificates.serverKey]
        if clientCA { arguments += ["--admin-tls-client-ca", certificates.caCertificate] }
        return try await ServeProcess(arguments + extra)
    }

    @Test("HTTPS: the right CA is served; a wrong CA fails the handshake; plain HTTP gets nothing")
    func serverCertificate() async throws {
        let certificates = try TestCertificates.make()
        let other = try TestCertificates.make()
        defer { for c in [certificates, other] { try? FileManager.default.removeItem(at: c.directory) } }
        let serve = try await Self.serve(certificates, clientCA: false)
        defer { serve.stop() }
        #expect(serve.shoal.stderr.contains("registry API on https://127.0.0.1:"))
        let url = "https://127.0.0.1:\(serve.port)/v1/services"
        let good = try await Self.curl(["--cacert", certificates.caCertificate, url])
        #expect(good.status == 0 && good.output == #"{"services":[]} 200"#, "\(good)")
        let wrong = try await Self.curl(["--cacert", other.caCertificate, url])
        #expect(wrong.status == 60, "a certificate no trusted CA signed: \(wrong)")
        let plain = try await Self.curl(["http://127.0.0.1:\(serve.port)/v1/services"])
        #expect(plain.status != 0 || !plain.output.hasSuffix(" 200"), "\(plain)")
        #expect(serve.shoal.process.isRunning)
    }

    @Test("mutual TLS: a client certificate from the CA passes; none, another CA's, or an expired one is refused")
    func clientCertificates() async throws {
        let certificates = try TestCertificates.make()
        let other = try TestCertificates.make()
        let files = try scratchDirectory()
        defer {
            for directory in [certificates.directory, other.directory, files] { try? FileManager.default.removeItem(at: directory) }
        }
        try certificates.issueClient("ops", into: files)
        try certificates.issueClient("old", expired: true, into: files)
        try other.issueClient("stranger", into: files)
        func client(_ name: String) -> [String] {
            ["--cert", files.appendingPathComponent("\(name).pem").path, "--key", files.appendingPathComponent("\(name).key").path]
        }
        // Mutual TLS alone guards a non-loopback address (no token, no --insecure); TLS
        // without client certificates does not.
        let tlsFlags = ["--admin-tls-cert", certificates.serverCertificate, "--admin-tls-key", certificates.serverKey]
        let open = try await ShoalProcess.run(["serve", "--check", "--admin", "0.0.0.0:8081"] + tlsFlags)
        #expect(open.status == 2 && open.stderr.contains("is not a loopback address"), "\(open.stderr)")
        let guarded = try await ShoalProcess.run(
            ["serve", "--check", "--admin", "0.0.0.0:8081", "--admin-tls-client-ca", certificates.caCertificate] + tlsFlags)
        #expect(guarded.status == 0, "\(guarded.stderr)")
        #expect(guarded.output.contains("admin API on https://0.0.0.0:8081"), "\(guarded.output)")
        let serve = try await Self.serve(certificates, clientCA: true)
        defer { serve.stop() }
        let url = "https://127.0.0.1:\(serve.port)/v1/services"
        let ca = ["--cacert", certificates.caCertificate]
        let ops = try await Self.curl(ca + client("ops") + [url])
        #expect(ops.status == 0 && ops.output.hasSuffix(" 200"), "\(ops)")
        for (what, arguments) in [("none", ca), ("another CA's", ca + client("stranger")), ("expired", ca + client("old"))] {
            let refused = try await Self.curl(arguments + [url])
            #expect(refused.status != 0 && !refused.output.hasSuffix(" 200"), "\(what): \(refused)")
        }
        #expect(serve.shoal.process.isRunning)
    }

    @Test("SIGHUP: new admin connections get the renewed certificate; files that do not load leave the old one")
    func reload() async throws {
        let first = try TestCertificates.make()
        let second = try TestCertificates.make()
        let files = try scratchDirectory()
        defer { for directory in [first.directory, second.directory, files] { try? FileManager.default.removeItem(at: directory) } }
        let certificate = files.appendingPathComponent("admin.pem").path
        let key = files.appendingPathComponent("admin.key").path
        try FileManager.default.copyItem(atPath: first.serverCertificate, toPath: certificate)
        try FileManager.default.copyItem(atPath: first.serverKey, toPath: key)
        let serve = try await ServeProcess(["--admin-tls-cert", certificate, "--admin-tls-key", key])
        defer { serve.stop() }
        #expect(try await GatewayTLSTests.verifies(port: serve.port, trusting: first))
        for (source, destination) in [(second.serverCertificate, certificate), (second.serverKey, key)] {
            try FileManager.default.removeItem(atPath: destination)
            try FileManager.default.copyItem(atPath: source, toPath: destination)
        }
        serve.shoal.process.signal(SIGHUP)
        #expect(await eventually(within: 10) { serve.shoal.stderr.contains("new admin connections get the certificate") })
        #expect(try await GatewayTLSTests.verifies(port: serve.port, trusting: second))
        #expect(try await !GatewayTLSTests.verifies(port: serve.port, trusting: first))
        try Data("not a key".utf8).write(to: URL(fileURLWithPath: key))
        serve.shoal.process.signal(SIGHUP)
        #expect(await eventually(within: 10) { serve.shoal.stderr.contains("the admin API's certificate in use stays") })
        #expect(try await GatewayTLSTests.verifies(port: serve.port, trusting: second))
    }

    @Test("the Swift clients and shoal lock over mutual TLS; a wrong CA fails them")
    func swiftClients() async throws {
        let certificates = try TestCertificates.make()
        let other = try TestCertificates.make()
        let files = try scratchDirectory()
        defer {
            for directory in [certificates.directory, other.directory, files] { try? FileManager.default.removeItem(at: directory) }
        }
        try certificates.issueClient("ops", into: files)
        let clientCertificate = files.appendingPathComponent("ops.pem").path
        let clientKey = files.appendingPathComponent("ops.key").path
        let serve = try await Self.serve(certificates, clientCA: true)
        defer { serve.stop() }
        let server = "https://127.0.0.1:\(serve.port)"
        let trust = AdminTrust(caFile: certificates.caCertificate, certificateFile: clientCertificate, keyFile: clientKey)

        let registry = try HTTPRegistryClient(server: server, trust: trust)
        let instance = try ServiceInstance(service: "payments", id: "p1", address: "10.0.0.7", port: 8080)
        _ = try await registry.register(instance, ttl: .seconds(30))
        #expect(try await registry.lookup("payments").instances.map(\.id) == ["p1"])
        await registry.shutdown()

        let locks = try HTTPLockClient(server: server, trust: trust)
        let lease = try await locks.acquire("nightly", ttl: .seconds(10), wait: .zero)
        #expect(lease.fencingToken >= 1)
        _ = try await locks.release(lease)
        await locks.shutdown()

        let stranger = try HTTPRegistryClient(server: server, trust: AdminTrust(caFile: other.caCertificate))
        await #expect(throws: (any Error).self) { _ = try await stranger.lookup("payments") }
        await stranger.shutdown()
        #expect(throws: AdminTrustError.self) { _ = try HTTPLockClient(server: server, trust: AdminTrust(caFile: "/nonexistent.pem")) }

        let ran = try await ShoalProcess.run([
            "lock", "--server", server, "--server-ca", certificates.caCertificate, "--client-cert", clientCertificate,
            "--client-key", clientKey, "--name", "job", "--", "true",
        ])
        #expect(ran.status == 0, "\(ran.stderr)")
        let refused = try await ShoalProcess.run([
            "lock", "--server", server, "--server-ca", certificates.caCertificate, "--name", "job", "--no-wait", "--", "true",
        ])
        #expect(refused.status != 0, "without a client certificate: \(refused.stderr)")
        let misused = try await ShoalProcess.run(["lock", "--server", "http://127.0.0.1:1", "--server-ca", "x", "--name", "j", "--", "true"])
        #expect(misused.status == 2 && misused.stderr.contains("go with an https:// --server"), "\(misused.stderr)")
    }
}

/// The hello-services example against an admin API that asks for client certificates.
@Suite("hello-services over mutual TLS to the registry", .serialized)
struct HelloServicesTLSTests {
    @Test("backend and frontend register over HTTPS with client certificates, and the frontend calls the backend")
    func overMutualTLS() async throws {
        let certificates = try TestCertificates.make()
        let files = try scratchDirectory()
        defer { for directory in [certificates.directory, files] { try? FileManager.default.removeItem(at: directory) } }
        try certificates.issueClient("app", into: files)
        let serve = try await AdminTLSTests.serve(certificates, clientCA: true)
        defer { serve.stop() }
        let tls = [
            "--registry-ca", certificates.caCertificate, "--client-cert", files.appendingPathComponent("app.pem").path,
            "--client-key", files.appendingPathComponent("app.key").path,
        ]
        let registry = "https://127.0.0.1:\(serve.port)"
        let backend = try await HelloServiceProcess("backend", registry: registry, arguments: tls, in: files)
        defer { backend.process.signal(SIGKILL) }
        let frontend = try await HelloServiceProcess("frontend", registry: registry, arguments: tls, in: files)
        defer { frontend.process.signal(SIGKILL) }
        #expect(
            await eventually(within: 20) { await frontend.get("/greet")?.status == 200 },
            "\(frontend.stderr) \(backend.stderr)")
        // Without a client certificate, a backend never gets into the registry.
        let refused = try await HelloServiceProcess(
            "backend", registry: registry, arguments: ["--registry-ca", certificates.caCertificate], in: files)
        defer { refused.process.signal(SIGKILL) }
        try await Task.sleep(for: .seconds(3))
        let client = try HTTPRegistryClient(
            server: registry,
            trust: AdminTrust(
                caFile: certificates.caCertificate, certificateFile: files.appendingPathComponent("app.pem").path,
                keyFile: files.appendingPathComponent("app.key").path))
        let ports = try await client.lookup("backend").instances.map(\.port)
        await client.shutdown()
        #expect(ports == [backend.port], "\(ports); the refused one listened on \(refused.port)")
    }
}
