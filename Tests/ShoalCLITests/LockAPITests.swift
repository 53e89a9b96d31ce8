import Foundation
import ShoalTesting
import Testing

@Suite("the lock API of shoal serve, embedded and on a real redis-server", .serialized)
struct LockAPITests {
    @Test(
        "acquire, 409 while held, renew, list without tokens, release; then the next holder's fencing token is higher",
        arguments: [false, true])
    func lifecycle(onRedis: Bool) async throws {
        let redis = onRedis ? try RedisServer.start() : nil
        let serve = try await ServeProcess(redis.map { ["--redis", $0.url] } ?? [])
        defer { serve.stop() }

        let sent = ContinuousClock.now
        // A TTL long enough not to run out while the test runs on a busy machine.
        let first = try await serve.request("POST", "/v1/locks/report", body: #"{"ttl":"30s"}"#)
        let took = Int((ContinuousClock.now - sent) / .milliseconds(1)) + 1
        #expect(first.status == 200)
        let grant = ServeProcess.object(first.body)
        let token = try #require(grant["token"] as? String)
        let fencing = try #require(grant["fencing_token"] as? Int)
        #expect(grant["ttl_ms"] as? Int == 30000)
        // Counted from the request's arrival, the lease runs from when the lock was taken,
        // which may be later (the body read, a pool connection waited for): the TTL, plus up
        // to the time the request took, less a little for clock drift.
        #expect(
            (grant["confirmed_ms"] as? Int).map { $0 >= 29900 && $0 <= 30000 + took } == true,
            "\(first.body), \(took) ms"
        )

        // Held: a try and a short wait are both refused.
        #expect(try await serve.request("POST", "/v1/locks/report").status == 409)
        let started = ContinuousClock.now
        let waited = try await serve.request("POST", "/v1/locks/report", body: #"{"ttl":"5s","wait":"300ms"}"#)
        #expect(waited.status == 409)
        #expect(ContinuousClock.now - started >= .milliseconds(300))

        let renewed = try await serve.request("PUT", "/v1/locks/report/renew", body: #"{"token":"\#(token)"}"#)
        #expect(renewed.status == 200)
        #expect(ServeProcess.object(renewed.body)["fencing_token"] as? Int == fencing)

        let listing = try await serve.request("GET", "/v1/locks")
        #expect(listing.status == 200)
        #expect(!listing.body.contains(token.split(separator: ".").last.map(String.init) ?? token))
        let locks = try #require(ServeProcess.object(listing.body)["locks"] as? [[String: Any]])
        #expect(locks.count == 1)
        #expect(locks.first?["name"] as? String == "report")
        #expect(locks.first?["fencing_token"] as? Int == fencing)
        #expect((locks.first?["expires_in_ms"] as? Int).map { $0 > 20000 && $0 <= 30000 } == true)

        // A forged secret holds nothing.
        let forged = token.dropLast(4) + "0000"
        #expect(try await serve.request("DELETE", "/v1/locks/report", body: #"{"token":"\#(forged)"}"#).status == 409)
        #expect(try await serve.request("DELETE", "/v1/locks/report", body: #"{"token":"\#(token)"}"#).status == 204)
        #expect(try await serve.request("DELETE", "/v1/locks/report", body: #"{"token":"\#(token)"}"#).status == 409)
        #expect(try await serve.request("PUT", "/v1/locks/report/renew", body: #"{"token":"\#(token)"}"#).status == 409)
        #expect(ServeProcess.object(try await serve.request("GET", "/v1/locks").body)["locks"] as? [Any] != nil)
        #expect(
            (ServeProcess.object(try await serve.request("GET", "/v1/locks").body)["locks"] as? [Any])?.isEmpty == true)

        let second = try await serve.request("POST", "/v1/locks/report")
        #expect(second.status == 200)
        #expect((ServeProcess.object(second.body)["fencing_token"] as? Int).map { $0 > fencing } == true)
    }

    @Test("a waiter gets the lock when the holder releases it")
    func waiterIsHandedTheLock() async throws {
        let serve = try await ServeProcess()
        defer { serve.stop() }
        let holder = ServeProcess.object(try await serve.request("POST", "/v1/locks/job").body)
        let token = try #require(holder["token"] as? String)
        async let waiter = serve.request("POST", "/v1/locks/job", body: #"{"wait":"10s"}"#)
        #expect(
            await eventually(within: 5) {
                let listing = ServeProcess.object((try? await serve.request("GET", "/v1/locks").body) ?? "")
                return ((listing["locks"] as? [[String: Any]])?.first?["waiters"] as? Int) == 1
            })
        #expect(try await serve.request("DELETE", "/v1/locks/job", body: #"{"token":"\#(token)"}"#).status == 204)
        let granted = try await waiter
        #expect(granted.status == 200)
        #expect(
            ServeProcess.object(granted.body)["fencing_token"] as? Int
                == (holder["fencing_token"] as? Int).map { $0 + 1 })
    }

    @Test(
        "a waiter that closes its connection leaves the line: the lock is not handed to it", arguments: [false, true])
    func departedWaiter(onRedis: Bool) async throws {
        let redis = onRedis ? try RedisServer.start() : nil
        let serve = try await ServeProcess(redis.map { ["--redis", $0.url] } ?? [])
        defer { serve.stop() }
        let holder = ServeProcess.object(try await serve.request("POST", "/v1/locks/job", body: #"{"ttl":"30s"}"#).body)
        let token = try #require(holder["token"] as? String)
        func waiters() async -> Int? {
            let listing = ServeProcess.object((try? await serve.request("GET", "/v1/locks").body) ?? "")
            return (listing["locks"] as? [[String: Any]])?.first?["waiters"] as? Int
        }
        do {
            let body = #"{"ttl":"30s","wait":"20s"}"#
            let waiter = try RawConnection(port: serve.port)
            #expect(
                waiter.send(
                    "POST /v1/locks/job HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"))
            #expect(await eventually(within: 5) { await waiters() == 1 })
        }  // the waiter's connection closes here
        #expect(await eventually(within: 5) { await waiters() == 0 })
        #expect(try await serve.request("DELETE", "/v1/locks/job", body: #"{"token":"\#(token)"}"#).status == 204)
        try await Task.sleep(for: .milliseconds(300))
        let listing = try await serve.request("GET", "/v1/locks")
        #expect((ServeProcess.object(listing.body)["locks"] as? [Any])?.isEmpty == true, "\(listing.body)")
    }

    @Test("bad input gets 400 naming the field, 405 for other methods, 401 without the token; nothing changes")
    func badInput() async throws {
        let serve = try await ServeProcess(["--token", "secret"])
        defer { serve.stop() }
        #expect(try await serve.request("POST", "/v1/locks/a").status == 401)
        let cases: [(method: String, path: String, body: String, field: String)] = [
            ("POST", "/v1/locks/a", #"{"ttl":"soon"}"#, "ttl"),
            ("POST", "/v1/locks/a", #"{"ttl":"10ms"}"#, "ttl"),
            ("POST", "/v1/locks/a", #"{"ttl":"2h"}"#, "ttl"),
            ("POST", "/v1/locks/a", #"{"wait":"1h"}"#, "wait"),
            ("POST", "/v1/locks/a", #"{"ttl":5}"#, "ttl"),
            ("POST", "/v1/locks/a", #"{"owner":"me"}"#, "owner"),
            ("POST", "/v1/locks/a", #"[1,2]"#, "body"),
            ("POST", "/v1/locks/%01", "", "name"),
            ("POST", "/v1/locks/" + String(repeating: "n", count: 600), "", "name"),
            ("PUT", "/v1/locks/a/renew", "{}", "token"),
            ("PUT", "/v1/locks/a/renew", #"{"token":7}"#, "token"),
            ("PUT", "/v1/locks/a/renew", #"{"token":"1.1000.zz"}"#, "token"),
            ("DELETE", "/v1/locks/a", #"{"token":"x"}"#, "token"),
            ("DELETE", "/v1/locks/a", #"{"token":"1.99999999999.abcd"}"#, "token"),
        ]
        for bad in cases {
            let reply = try await serve.request(bad.method, bad.path, body: bad.body, token: "secret")
            #expect(reply.status == 400, "\(bad.method) \(bad.path) \(bad.body): \(reply.status) \(reply.body)")
            #expect(ServeProcess.object(reply.body)["field"] as? String == bad.field, "\(bad.body): \(reply.body)")
        }
        let big = try await serve.request(
            "POST", "/v1/locks/a", body: String(repeating: " ", count: 5000), token: "secret")
        #expect(big.status == 413)
        #expect(try await serve.request("GET", "/v1/locks/a", token: "secret").status == 405)
        #expect(try await serve.request("POST", "/v1/locks/a/renew", token: "secret").status == 405)
        let listing = try await serve.request("GET", "/v1/locks", token: "secret")
        #expect((ServeProcess.object(listing.body)["locks"] as? [Any])?.isEmpty == true)
        #expect(serve.shoal.process.isRunning)
    }
}
