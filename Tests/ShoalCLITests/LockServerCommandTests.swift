import Foundation
import ShoalTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("shoal lock --server, through the lock API of a shoal serve", .serialized)
struct LockServerCommandTests {
    @Test(
        "16 holders doing read-modify-write of a file lose no update; fencing tokens strictly increase",
        arguments: [false, true])
    func mutualExclusion(onRedis: Bool) async throws {
        let redis = onRedis ? try RedisServer.start() : nil
        let serve = try await ServeProcess(["--token", "secret"] + (redis.map { ["--redis", $0.url] } ?? []))
        defer { serve.stop() }
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let counter = directory.appendingPathComponent("counter").path
        let tokens = directory.appendingPathComponent("tokens").path
        try "0".write(toFile: counter, atomically: true, encoding: .utf8)
        // Reads, pauses, writes: two holders at once would lose an update.
        let script =
            "n=$(cat \(counter)); sleep 0.05; echo $((n + 1)) > \(counter); echo $SHOAL_LOCK_FENCING_TOKEN >> \(tokens)"
        let holders = try (0..<16).map { _ in
            try BackgroundShoal(
                [
                    "lock", "--server", "http://127.0.0.1:\(serve.port)", "--name", "counter", "--ttl", "5s", "--wait",
                    "60s",
                    "--", "sh", "-c", script,
                ],
                in: directory, environment: ["SHOAL_TOKEN": "secret"])
        }
        for holder in holders {
            #expect(await holder.process.exited(within: 90))
            #expect(holder.process.exitCode == 0, "\(holder.stderr)")
        }
        let count = try String(contentsOfFile: counter, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(count == "16")
        let fencing = try String(contentsOfFile: tokens, encoding: .utf8).split(separator: "\n").compactMap {
            UInt64($0)
        }
        #expect(fencing.count == 16)
        #expect(zip(fencing, fencing.dropFirst()).allSatisfy { $0 < $1 }, "\(fencing)")
        let listing = try await serve.request("GET", "/v1/locks", token: "secret")
        #expect((ServeProcess.object(listing.body)["locks"] as? [Any])?.isEmpty == true, "\(listing.body)")
    }

    @Test(
        "a holder handed the lock after waiting longer than its TTL holds it and runs its command",
        arguments: [false, true])
    func waitedPastTTL(onRedis: Bool) async throws {
        let redis = onRedis ? try RedisServer.start() : nil
        let serve = try await ServeProcess(redis.map { ["--redis", $0.url] } ?? [])
        defer { serve.stop() }
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let marker = directory.appendingPathComponent("ran").path
        // Held for 2 s and never renewed: the waiter gets it after four of its own TTLs.
        #expect(try await serve.request("POST", "/v1/locks/job", body: #"{"ttl":"2s"}"#).status == 200)
        let waiter = try BackgroundShoal(
            [
                "lock", "--server", "http://127.0.0.1:\(serve.port)", "--name", "job", "--ttl", "500ms", "--wait",
                "10s", "--", "sh", "-c", "sleep 1; echo $SHOAL_LOCK_FENCING_TOKEN > \(marker)",
            ],
            in: directory)
        #expect(await waiter.process.exited(within: 15))
        #expect(waiter.process.exitCode == 0, "\(waiter.stderr)")
        #expect(FileManager.default.fileExists(atPath: marker))
    }

    @Test("exit codes: 75 when held with --no-wait, 69 when the server is away, 2 for a wrong token or a bad URL")
    func exitCodes() async throws {
        let serve = try await ServeProcess(["--token", "secret"])
        defer { serve.stop() }
        let held = try await serve.request("POST", "/v1/locks/busy", body: #"{"ttl":"30s"}"#, token: "secret")
        #expect(held.status == 200)
        let server = "http://127.0.0.1:\(serve.port)"
        let busy = try await ShoalProcess.run(
            ["lock", "--server", server, "--token", "secret", "--name", "busy", "--no-wait", "--", "true"])
        #expect(busy.status == 75)
        #expect(busy.stderr.contains("busy"))
        let wrongToken = try await ShoalProcess.run(
            ["lock", "--server", server, "--token", "nope", "--name", "free", "--", "true"])
        #expect(wrongToken.status == 2)
        #expect(wrongToken.stderr.contains("token"), "\(wrongToken.stderr)")
        let away = try await ShoalProcess.run(
            ["lock", "--server", "http://127.0.0.1:\(try RedisServer.freePort())", "--name", "x", "--", "true"])
        #expect(away.status == 69)
        let badURL = try await ShoalProcess.run(["lock", "--server", "127.0.0.1:8081", "--name", "x", "--", "true"])
        #expect(badURL.status == 2)
        #expect(badURL.stderr.contains("--server"))
    }

    @Test("a holder whose server stops renewing it loses the lock: the command gets SIGTERM and shoal exits 76")
    func lostWhenServerStops() async throws {
        let serve = try await ServeProcess()
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let ready = directory.appendingPathComponent("ready").path
        let holder = try BackgroundShoal(
            [
                "lock", "--server", "http://127.0.0.1:\(serve.port)", "--name", "job", "--ttl", "1s", "--grace", "1s",
                "--", "sh", "-c", ": > \(ready); exec sleep 30",
            ],
            in: directory)
        // Once the command runs, the grant has reached the holder (a server paused between
        // granting and answering would leave it waiting for the answer instead).
        #expect(await eventually(within: 10) { FileManager.default.fileExists(atPath: ready) })
        serve.shoal.process.signal(SIGSTOP)  // renewals now go unanswered
        defer {
            serve.shoal.process.signal(SIGCONT)
            serve.stop()
        }
        #expect(await holder.process.exited(within: 10))
        #expect(holder.process.exitCode == 76, "\(holder.stderr)")
        #expect(holder.stderr.contains("lock 'job'"))
    }
}
