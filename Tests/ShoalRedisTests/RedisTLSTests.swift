import NIOCore
import NIOSSL
import ShoalRESP
import ShoalRedis
import ShoalTesting
import Testing

@Suite("TLS against a real redis-server --tls-port", .serialized)
struct RedisTLSTests {
    @Test("commands over TLS with a trusted CA; an untrusted certificate is a typed TLS error")
    func tls() async throws {
        let certificates = try TestCertificates.make()
        let tlsPort = try RedisServer.freePort()
        let redis = try RedisServer.start(extraArguments: [
            "--tls-port", String(tlsPort), "--tls-cert-file", certificates.serverCertificate,
            "--tls-key-file", certificates.serverKey, "--tls-ca-cert-file", certificates.caCertificate,
            "--tls-auth-clients", "no",
        ])
        var trusting = TLSConfiguration.makeClientConfiguration()
        trusting.trustRoots = .file(certificates.caCertificate)
        for host in ["127.0.0.1", "localhost"] {  // verified against the IP SAN, then the DNS SAN
            let connection = try await RedisConnection.connect(
                RedisConfiguration(host: host, port: tlsPort, tls: RedisTLS(trusting)))
            _ = try await connection.send(RESPCommand("SET", "over", "tls"))
            #expect(try await connection.send(RESPCommand("GET", "over")) == .bulkString(ByteBuffer(string: "tls")))
            await connection.close()
        }
        let untrusted = await caught(RedisError.self) {
            _ = try await RedisConnection.connect(RedisConfiguration(host: "127.0.0.1", port: tlsPort, tls: RedisTLS()))
        }
        #expect(untrusted?.code == .tlsFailed, "\(String(describing: untrusted))")
        #expect(untrusted?.message.contains("CERTIFICATE_VERIFY_FAILED") == true)
        let url = try RedisConfiguration(url: "rediss://:pw@127.0.0.1:\(tlsPort)/2")
        #expect(url.tls != nil && url.password == "pw" && url.database == 2)
        redis.stop()
    }
}
