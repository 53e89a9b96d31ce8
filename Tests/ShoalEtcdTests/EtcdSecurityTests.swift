import Foundation
import ShoalEtcd
import ShoalLock
import ShoalTesting
import Testing

@Suite("EtcdClient against etcd with TLS and with users", .serialized, .timeLimit(.minutes(1)))
struct EtcdSecurityTests {
    static func configuration(
        _ cluster: EtcdCluster, tls: EtcdTLS = EtcdTLS(), user: String? = nil, password: String? = nil
    ) throws -> EtcdConfiguration {
        EtcdConfiguration(
            endpoints: try cluster.endpoints.map { try EtcdEndpoint($0) }, username: user, password: password,
            tls: tls, retryWindow: .seconds(1))
    }

    /// Keys, a watch and a lock: what Shoal asks of etcd.
    static func exercise(_ client: EtcdClient, prefix: String) async throws {
        let written = try await client.put("\(prefix)greeting", "hello")
        #expect(try await client.get("\(prefix)greeting")?.stringValue == "hello")
        let seen = Recorder<String>()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await client.watch(prefix: prefix, from: written + 1) { events, _ in
                    for event in events { seen.append(event.keyValue.keyString) }
                    return .stop
                }
            }
            try await Task.sleep(for: .milliseconds(200))
            try await client.put("\(prefix)watched", "1")
            try await group.waitForAll()
        }
        #expect(seen.values == ["\(prefix)watched"])
        let locks = EtcdLock(client: client, keyPrefix: "\(prefix)locks/")
        let lease = try await locks.acquire("job", ttl: .seconds(5), wait: .seconds(5))
        #expect(try await locks.release(lease) == .released)
    }

    @Test("TLS with client certificates: keys, watches and locks work; no client certificate, or no trust, fails")
    func tls() async throws {
        let security = try EtcdCluster.Security.make(requireClientCertificates: true)
        let etcd = try EtcdCluster.start(security: security)
        defer { etcd.stop() }
        let ca = security.certificates.caCertificate
        let full = EtcdTLS(caFile: ca, certificateFile: security.clientCertificate, keyFile: security.clientKey)
        try await EtcdClient.withClient(try Self.configuration(etcd, tls: full)) { client in
            try await Self.exercise(client, prefix: "tls/")
        }
        for (tls, why) in [
            (EtcdTLS(caFile: ca), "no client certificate"), (EtcdTLS(), "the members' CA is not trusted"),
        ] {
            let refused = await caught(EtcdError.self) {
                try await EtcdClient.withClient(try Self.configuration(etcd, tls: tls)) { client in
                    _ = try await client.get("tls/greeting")
                }
            }
            #expect(refused?.code == .unavailable, "\(why): \(String(describing: refused))")
        }
    }

    @Test("a user with a password: works under its prefix, is refused elsewhere; a wrong password is unauthenticated")
    func users() async throws {
        let etcd = try EtcdCluster.start()
        defer { etcd.stop() }
        try etcd.enableAuthentication(rootPassword: "root-pw", users: [("app", "app-pw", "app/")])
        try await EtcdClient.withClient(try Self.configuration(etcd, user: "app", password: "app-pw")) { client in
            try await Self.exercise(client, prefix: "app/")
            let outside = await caught(EtcdError.self) { try await client.put("other/key", "x") }
            #expect(outside?.code == .unauthenticated, "\(String(describing: outside))")
        }
        for (user, password) in [("app", "wrong"), ("nobody", "pw")] {
            let refused = await caught(EtcdError.self) {
                try await EtcdClient.withClient(try Self.configuration(etcd, user: user, password: password)) {
                    _ = try await $0.get("app/greeting")
                }
            }
            #expect(refused?.code == .unauthenticated, "\(user): \(String(describing: refused))")
        }
        let anonymous = await caught(EtcdError.self) {
            try await EtcdClient.withClient(try Self.configuration(etcd)) { _ = try await $0.get("app/greeting") }
        }
        #expect(anonymous?.code == .unauthenticated, "\(String(describing: anonymous))")
    }

    @Test("a token etcd no longer takes (its TTL passed) is replaced without the caller seeing it")
    func expiredToken() async throws {
        let etcd = try EtcdCluster.start(extraArguments: ["--auth-token-ttl", "1"])
        defer { etcd.stop() }
        try etcd.enableAuthentication(rootPassword: "root-pw", users: [("app", "app-pw", "app/")])
        try await EtcdClient.withClient(try Self.configuration(etcd, user: "app", password: "app-pw")) { client in
            try await client.put("app/a", "1")
            try await Task.sleep(for: .seconds(3))  // the simple token lapses after 1 s unused
            #expect(try await client.get("app/a")?.stringValue == "1")
            try await client.put("app/b", "2")
            let written = try await client.put("app/c", "3")
            try await Task.sleep(for: .seconds(3))
            let seen = Recorder<String>()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await client.watch(prefix: "app/", from: written) { events, _ in
                        for event in events { seen.append(event.keyValue.keyString) }
                        return .stop
                    }
                }
                try await group.waitForAll()
            }
            #expect(seen.values == ["app/c"])
        }
    }
}
