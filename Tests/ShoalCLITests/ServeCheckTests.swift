import Foundation
import ShoalTesting
import Testing

@Suite("shoal serve --check: the settings checked, nothing listening", .serialized)
struct ServeCheckTests {
    @Test("good settings print what would run and exit 0, even on a taken port; bad TLS files exit 2")
    func check() async throws {
        let certificates = try TestCertificates.make()
        let other = try TestCertificates.make()
        let files = try scratchDirectory()
        let taken = try HTTPTestServer.start()
        defer {
            taken.kill()
            for directory in [certificates.directory, other.directory, files] {
                try? FileManager.default.removeItem(at: directory)
            }
        }
        let accessLog = files.appendingPathComponent("access.log").path
        let config = files.appendingPathComponent("shoal.yaml")
        try Data(
            """
            listen: 127.0.0.1:\(taken.port)
            threads: 3
            access_log: \(accessLog)
            tls:
              cert: \(certificates.serverCertificate)
              key: \(certificates.serverKey)
            routes:
              orders:
                prefix: /api/orders
                service: orders
                strip_prefix: true
              grpc:
                prefix: /shoal.example.Orders
                service: orders
                protocol: h2c
                retry_grpc_status: 14, 8
            """.utf8
        ).write(to: config)
        let good = try await ShoalProcess.run(["serve", "--check", "--config", config.path])
        #expect(good.status == 0, "\(good.stderr)")
        #expect(good.output.contains("shoal: the settings are good."))
        #expect(good.output.contains("gateway on https://127.0.0.1:\(taken.port) (3 threads)"))
        #expect(good.output.contains("  /api/orders -> orders (hotCold, prefix stripped)"))
        #expect(good.output.contains("  /shoal.example.Orders -> orders (hotCold, h2c, retries grpc-status 14,8)"))
        #expect(FileManager.default.fileExists(atPath: accessLog))  // opened, as serve would

        let mismatched = try await ShoalProcess.run([
            "serve", "--check", "--tls-cert", certificates.serverCertificate, "--tls-key", other.serverKey,
        ])
        #expect(mismatched.status == 2 && mismatched.stderr.contains("--tls-key"), "\(mismatched.stderr)")
        let badLog = try await ShoalProcess.run(["serve", "--check", "--access-log", "/nonexistent-shoal-dir/a.log"])
        #expect(badLog.status == 2 && badLog.stderr.contains("--access-log"), "\(badLog.stderr)")

        // The Sentinel form of the Redis URL, from the file (checking reaches no server).
        try Data("redis:\n  url: redis-sentinel://10.0.0.1,10.0.0.2:26380#shoal\n".utf8).write(to: config)
        let sentinel = try await ShoalProcess.run(["serve", "--check", "--config", config.path])
        #expect(sentinel.status == 0, "\(sentinel.stderr)")
        #expect(sentinel.output.contains("Redis"), "\(sentinel.output)")
    }
}
