import Foundation
import ShoalTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("shoal lock --etcd and shoal serve --etcd against a real etcd cluster", .serialized)
struct EtcdCommandTests {
    @Test("shoal lock --etcd runs the command with the lock's name and fencing token; the next token is higher")
    func lockRunsCommand() async throws {
        let etcd = try EtcdCluster.start()
        defer { etcd.stop() }
        let endpoints = etcd.endpoints.joined(separator: ",")
        let first = try await ShoalProcess.run([
            "lock", "--etcd", endpoints, "--name", "backup", "--",
            "sh", "-c", "echo \"$SHOAL_LOCK_NAME $SHOAL_LOCK_FENCING_TOKEN\"; exit 3",
        ])
        #expect(first.status == 3, "\(first.stderr)")
        let words = first.output.trimmingCharacters(in: .newlines).split(separator: " ")
        #expect(words.first == "backup")
        let token = try #require(words.last.flatMap { UInt64($0) })
        let next = try await ShoalProcess.run(
            ["lock", "--name", "backup", "--", "sh", "-c", "echo $SHOAL_LOCK_FENCING_TOKEN"],
            environment: ["SHOAL_ETCD_ENDPOINTS": endpoints])
        #expect(next.status == 0, "\(next.stderr)")
        #expect(UInt64(next.output.trimmingCharacters(in: .newlines)).map { $0 > token } == true)
        let keys = try etcd.etcdctl(["get", "shoal/locks/", "--prefix", "--keys-only"])
        #expect(keys.output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "released: \(keys.output)")
    }

    @Test("shoal lock --etcd over TLS with a client certificate, as a user whose password is in the environment")
    func lockOverTLSAsUser() async throws {
        let security = try EtcdCluster.Security.make(requireClientCertificates: true)
        let etcd = try EtcdCluster.start(security: security)
        defer { etcd.stop() }
        try etcd.enableAuthentication(rootPassword: "root-pw", users: [("jobs", "jobs-pw", "shoal/locks/")])
        let tls = [
            "--etcd-ca", security.certificates.caCertificate, "--etcd-cert", security.clientCertificate,
            "--etcd-key", security.clientKey,
        ]
        let held = try await ShoalProcess.run(
            ["lock", "--etcd", etcd.endpoints[0], "--etcd-user", "jobs"] + tls + [
                "--name", "nightly", "--", "sh", "-c", "echo $SHOAL_LOCK_FENCING_TOKEN",
            ],
            environment: ["SHOAL_ETCD_PASSWORD": "jobs-pw"])
        #expect(held.status == 0, "\(held.stderr)")
        #expect(UInt64(held.output.trimmingCharacters(in: .newlines)) != nil, "\(held.output)")
        let refused = try await ShoalProcess.run(
            ["lock", "--etcd", etcd.endpoints[0], "--etcd-user", "jobs", "--etcd-password", "wrong"] + tls + [
                "--name", "nightly", "--", "true",
            ])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("invalid user ID or password"), "\(refused.stderr)")
    }

    @Test("a holder paused past its lease loses the lock to another; resumed, it stops its command and exits 76")
    func pausedHolder() async throws {
        let etcd = try EtcdCluster.start()
        defer { etcd.stop() }
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let ready = directory.appendingPathComponent("ready").path
        let marker = directory.appendingPathComponent("terminated").path
        let holder = try BackgroundShoal(
            [
                "lock", "--etcd", etcd.endpoints[0], "--name", "job", "--ttl", "2s", "--",
                "sh", "-c", "trap 'echo TERM > \(marker); exit 143' TERM; : > \(ready); while :; do sleep 0.05; done",
            ], in: directory)
        #expect(await eventually(within: 10) { FileManager.default.fileExists(atPath: ready) })
        holder.process.signal(SIGSTOP)
        // etcd ends the lease 2 s after its last keep-alive (its minimum TTL may make it a little more).
        let other = try await ShoalProcess.run([
            "lock", "--etcd", etcd.endpoints[0], "--name", "job", "--wait", "10s", "--", "true",
        ])
        #expect(other.status == 0, "\(other.stderr)")
        holder.process.signal(SIGCONT)
        #expect(await eventually(within: 10) { !holder.process.isRunning })
        #expect(holder.process.exitCode == 76)
        #expect(holder.stderr.contains("lock 'job' (fencing token"))
        #expect(FileManager.default.fileExists(atPath: marker))
    }

    @Test(
        "bad etcd arguments exit 2 with one line naming the argument",
        arguments: [
            (["--etcd", "127.0.0.1:2379", "--name", "x", "--", "true"], "must start with http:// or https://"),
            (["--etcd", "http://h", "--redis", "redis://h", "--name", "x", "--", "true"], "cannot be used together"),
            (["--etcd", "http://h", "--name", "x", "--ttl", "500ms", "--", "true"], "--ttl must be at least 1s"),
            (["--etcd", "http://h", "--etcd-ca", "/etc/hosts", "--name", "x", "--", "true"], "go with https://"),
            (["--etcd", "https://h", "--etcd-ca", "/no/such.pem", "--name", "x", "--", "true"], "cannot read"),
            (["--etcd", "http://h", "--etcd-password", "p", "--name", "x", "--", "true"], "goes with --etcd-user"),
        ])
    func lockUsage(arguments: [String], expected: String) async throws {
        let result = try await ShoalProcess.run(["lock"] + arguments)
        #expect(result.status == 2)
        #expect(result.stderr.contains(expected), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1)
    }

    @Test("two shoal serve --etcd share the registry and the locks; a watcher on one sees the other's registrations")
    func serveSharesState() async throws {
        let etcd = try EtcdCluster.start(members: 3)
        defer { etcd.stop() }
        let endpoints = etcd.endpoints.joined(separator: ",")
        let first = try await ServeProcess(["--etcd", endpoints])
        defer { first.stop() }
        let second = try await ServeProcess([], environment: ["SHOAL_ETCD_ENDPOINTS": endpoints])
        defer { second.stop() }
        #expect(first.shoal.stderr.contains("(state in etcd)"))

        let registered = try await first.request(
            "PUT", "/v1/services/api/instances/api-1", body: #"{"address":"127.0.0.1","port":9001,"ttl":"30s"}"#)
        #expect(registered.status == 200, "\(registered.body)")
        let listed = try await second.request("GET", "/v1/services/api")
        #expect(listed.status == 200)
        #expect(listed.body.contains("api-1"))
        // A blocking query on the second returns when the first registers another instance.
        let index = try #require(ServeProcess.object(listed.body)["index"] as? Int)
        async let blocked = second.request("GET", "/v1/services/api?index=\(index)&wait=20s")
        try await Task.sleep(for: .milliseconds(300))
        let started = ContinuousClock.now
        _ = try await first.request(
            "PUT", "/v1/services/api/instances/api-2", body: #"{"address":"127.0.0.1","port":9002,"ttl":"30s"}"#)
        let woke = try await blocked
        #expect(woke.body.contains("api-2"), "\(woke.body)")
        #expect(ContinuousClock.now - started < .seconds(5))

        let held = try await first.request("POST", "/v1/locks/report", body: #"{"ttl":"10s"}"#)
        #expect(held.status == 200, "\(held.body)")
        #expect(try await second.request("POST", "/v1/locks/report").status == 409)
        let locks = ServeProcess.object(try await second.request("GET", "/v1/locks").body)["locks"] as? [[String: Any]]
        #expect(locks?.first?["name"] as? String == "report")
    }

    @Test("shoal serve: --etcd with --redis, or an etcd flag without --etcd, exits 2")
    func serveUsage() async throws {
        let both = try await ShoalProcess.run([
            "serve", "--etcd", "http://127.0.0.1:2379", "--redis", "redis://127.0.0.1:6379", "--check",
        ])
        #expect(both.status == 2)
        #expect(both.stderr.contains("give one"), "\(both.stderr)")
        let stray = try await ShoalProcess.run(["serve", "--etcd-user", "root", "--check"])
        #expect(stray.status == 2)
        #expect(stray.stderr.contains("go with --etcd"), "\(stray.stderr)")
        let checked = try await ShoalProcess.run(["serve", "--etcd", "http://127.0.0.1:2379", "--check"])
        #expect(checked.status == 0, "\(checked.stderr)")
    }
}
