import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import ShoalTesting
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// `shoal serve` in the background on a free port, and real HTTP requests to it.
final class ServeProcess: Sendable {
    let shoal: BackgroundShoal
    /// The admin API's port.
    let port: Int
    /// The gateway's port.
    let gatewayPort: Int
    let directory: URL

    /// Starts `shoal serve` on port 0 (unless `arguments` name the admin address, or
    /// `environment` or `config`, the text of a YAML file passed with --config, do) and
    /// reads the port it bound from its first line. Its standard output goes to the file
    /// `standardOutput`.
    init(
        _ arguments: [String] = [], environment: [String: String] = [:], config: String? = nil,
        standardOutput: String = "/dev/null"
    ) async throws {
        directory = try scratchDirectory()
        var arguments = arguments
        if let config {
            let file = directory.appendingPathComponent("shoal.yaml")
            try Data(config.utf8).write(to: file)
            arguments += ["--config", file.path]
        }
        let named = arguments.contains("--admin") || environment["SHOAL_ADMIN"] != nil || config != nil
        let listens =
            arguments.contains("--listen") || environment["SHOAL_LISTEN"] != nil
            || config?.contains("listen:") == true
        shoal = try BackgroundShoal(
            ["serve"] + (named ? [] : ["--admin", "127.0.0.1:0"]) + (listens ? [] : ["--listen", "127.0.0.1:0"])
                + arguments, in: directory, environment: environment, standardOutput: standardOutput)
        let shoal = shoal
        let up = await eventually(within: 20) {
            (shoal.stderr.contains("registry API on") && shoal.stderr.contains("gateway on"))
                || !shoal.process.isRunning
        }
        func boundPort(after words: String) -> Int? {
            let line = shoal.stderr.split(separator: "\n").first {
                $0.contains("\(words) http://127.0.0.1:") || $0.contains("\(words) https://127.0.0.1:")
            }
            return line.flatMap { $0.split(separator: ":").last?.split(separator: " ").first }.flatMap { Int($0) }
        }
        guard up, shoal.process.isRunning, let port = boundPort(after: "registry API on"),
            let gatewayPort = boundPort(after: "gateway on")
        else {
            throw RedisServerError("shoal serve did not start: \(shoal.stderr)")
        }
        self.port = port
        self.gatewayPort = gatewayPort
    }

    /// Sends a request; returns the status and the body.
    ///
    /// Through AsyncHTTPClient, not URLSession: under the whole suite's load, Foundation's
    /// URLSession on Linux now and then never saw the answer to a request and timed out
    /// after 40 s (likely its libcurl handle, which watches sockets by descriptor while the
    /// suite opens and closes thousands; not proven).
    func request(
        _ method: String, _ path: String, body: String? = nil, token: String? = nil
    ) async throws -> (status: Int, body: String) {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = HTTPMethod(rawValue: method)
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        // A connection of its own: a pooled one may be to an earlier shoal serve that had the
        // same port and is gone (AsyncHTTPClient then fails with "I/O on closed channel").
        request.headers.add(name: "Connection", value: "close")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(40))
        let bytes = try await response.body.collect(upTo: 64 << 20)
        return (Int(response.status.code), String(buffer: bytes))
    }

    /// The JSON object of a reply.
    static func object(_ body: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
    }

    func stop() {
        shoal.process.signal(SIGTERM)
        shoal.process.waitForExit(seconds: 10)
        try? FileManager.default.removeItem(at: directory)
    }
}

@Suite("shoal serve: the registry API over real HTTP", .serialized)
struct ServeCommandTests {
    @Test(
        "an address already taken: exit 1 within seconds, naming the address and its flag",
        arguments: ["--admin", "--listen"])
    func addressTaken(flag: String) async throws {
        let first = try await ServeProcess()
        defer { first.stop() }
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let taken = "127.0.0.1:\(flag == "--admin" ? first.port : first.gatewayPort)"
        let other = flag == "--admin" ? "--listen" : "--admin"
        let second = try BackgroundShoal(["serve", flag, taken, other, "127.0.0.1:0"], in: directory)
        #expect(await second.process.exited(within: 15), "still running: \(second.stderr)")
        second.process.kill()
        #expect(second.process.exitCode == 1)
        #expect(
            second.stderr.contains("cannot listen on \(taken)") && second.stderr.contains("(\(flag))"),
            "\(second.stderr)")
        #expect(first.shoal.process.isRunning)
    }

    @Test("register, look up, list, renew, deregister")
    func roundTrip() async throws {
        let serve = try await ServeProcess()
        defer { serve.stop() }
        #expect(try await serve.request("GET", "/healthz").status == 200)
        let put = try await serve.request(
            "PUT", "/v1/services/payments/instances/p1",
            body:
                #"{"address":"10.0.0.7","port":8080,"weight":2,"zone":"a","metadata":{"version":"2.4.1"},"ttl":"30s"}"#)
        #expect(put.status == 200)
        let stored = ServeProcess.object(put.body)
        #expect(stored["port"] as? Int == 8080 && stored["health"] as? String == "passing")
        let snapshot = ServeProcess.object(try await serve.request("GET", "/v1/services/payments").body)
        let instances = snapshot["instances"] as? [[String: Any]] ?? []
        #expect(instances.map { $0["id"] as? String } == ["p1"])
        #expect(instances.first?["metadata"] as? [String: String] == ["version": "2.4.1"])
        #expect((snapshot["index"] as? Int ?? 0) > 0)
        let list = try await serve.request("GET", "/v1/services")
        #expect(list.body == #"{"services":[{"critical":0,"index":1,"passing":1,"service":"payments","warning":0}]}"#)
        #expect(try await serve.request("PUT", "/v1/services/payments/instances/p1/renew").status == 200)
        #expect(try await serve.request("PUT", "/v1/services/payments/instances/nobody/renew").status == 404)
        #expect(try await serve.request("DELETE", "/v1/services/payments/instances/p1").status == 204)
        #expect(try await serve.request("PUT", "/v1/services/payments/instances/p1/renew").status == 404)
    }

    @Test("PUT …/health sets the health alone: 200 with the instance, 404 unknown, 400 naming the field, 405")
    func health() async throws {
        let serve = try await ServeProcess()
        defer { serve.stop() }
        let path = "/v1/services/s/instances/i"
        #expect(try await serve.request("PUT", path, body: #"{"address":"h","port":80,"ttl":"1h"}"#).status == 200)
        let set = try await serve.request("PUT", path + "/health", body: #"{"health":"warning"}"#)
        #expect(set.status == 200 && ServeProcess.object(set.body)["health"] as? String == "warning")
        let summary = try await serve.request("GET", "/v1/services")
        #expect(summary.body.contains(#""passing":0"#) && summary.body.contains(#""warning":1"#))
        #expect(try await serve.request("PUT", path + "/renew").status == 200)  // still registered, same TTL
        for (body, field) in [
            (#"{"health":"fine"}"#, "health"), (#"{}"#, "health"), (#"{"health":"critical","ttl":"1s"}"#, "ttl"),
            ("[1]", "body"),
        ] {
            let reply = try await serve.request("PUT", path + "/health", body: body)
            #expect(reply.status == 400 && ServeProcess.object(reply.body)["field"] as? String == field, "\(body)")
        }
        let unknown = try await serve.request(
            "PUT", "/v1/services/s/instances/nobody/health", body: #"{"health":"critical"}"#)
        #expect(unknown.status == 404)
        #expect(try await serve.request("GET", path + "/health").status == 405)
        let after = ServeProcess.object(try await serve.request("GET", "/v1/services/s").body)
        #expect((after["instances"] as? [[String: Any]])?.first?["health"] as? String == "warning")
    }

    @Test("bad input gets 400 (413 for a big body) naming the field, and changes nothing stored")
    func badInput() async throws {
        let serve = try await ServeProcess()
        defer { serve.stop() }
        let good = #"{"address":"10.0.0.7","port":8080}"#
        #expect(try await serve.request("PUT", "/v1/services/s/instances/i", body: good).status == 200)
        let before = try await serve.request("GET", "/v1/services/s").body
        let cases: [(String, String, String?)] = [
            ("/v1/services/s/instances/i", "{not json", "body"),
            ("/v1/services/s/instances/i", #"{"address":"h","port":8080,"colour":"red"}"#, "colour"),
            ("/v1/services/s/instances/i", #"{"address":"h","port":70000}"#, "port"),
            ("/v1/services/s/instances/i", #"{"address":"h","port":"80"}"#, "port"),
            ("/v1/services/s/instances/i", #"{"port":80}"#, "address"),
            ("/v1/services/s/instances/i", #"{"address":"h","port":80,"ttl":"2h"}"#, "ttl"),
            ("/v1/services/s/instances/i", #"{"address":"h","port":80,"ttl":"500ms"}"#, "ttl"),
            ("/v1/services/s/instances/i", #"{"address":"h","port":80,"check":{"http":"health"}}"#, "check.http"),
            ("/v1/services/s/instances/i", #"{"address":"h","port":80,"metadata":{"a":1}}"#, "metadata"),
            ("/v1/services/\(String(repeating: "x", count: 129))/instances/i", good, "service"),
            ("/v1/services/s/instances/bad!id", good, "id"),
        ]
        for (path, body, field) in cases {
            let reply = try await serve.request("PUT", path, body: body)
            #expect(reply.status == 400, "\(body)")
            #expect(ServeProcess.object(reply.body)["field"] as? String == field, "\(body): \(reply.body)")
        }
        let big = #"{"address":"h","port":80,"metadata":{"x":""# + String(repeating: "y", count: 70_000) + #""}}"#
        #expect(try await serve.request("PUT", "/v1/services/s/instances/i", body: big).status == 413)
        #expect(try await serve.request("GET", "/v1/services/s?index=abc").status == 400)
        #expect(try await serve.request("GET", "/v1/services/s").body == before)
        #expect(serve.shoal.process.isRunning)
    }

    @Test("with --token, /v1 needs the bearer token (401 otherwise); /healthz stays open")
    func token() async throws {
        let serve = try await ServeProcess(["--token", "s3cret"])
        defer { serve.stop() }
        #expect(try await serve.request("GET", "/v1/services").status == 401)
        #expect(try await serve.request("GET", "/v1/services", token: "s3cre").status == 401)
        #expect(try await serve.request("GET", "/v1/services", token: "s3cret!").status == 401)
        #expect(try await serve.request("GET", "/v1/services", token: "s3cret").status == 200)
        #expect(try await serve.request("GET", "/metrics").status == 401)
        #expect(try await serve.request("GET", "/metrics", token: "s3cret").status == 200)
        #expect(try await serve.request("GET", "/healthz").status == 200)
    }

    @Test("a non-loopback admin address needs a token or --insecure")
    func exposedAdmin() async throws {
        let refused = try await ShoalProcess.run(["serve", "--admin", "0.0.0.0:0"])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("is not a loopback address: give --token"))
        #expect(try await ShoalProcess.run(["serve", "--admin", "nonsense"]).status == 2)
    }

    @Test("a blocking query returns on a change, and with the same index when its wait ends")
    func blockingQuery() async throws {
        let serve = try await ServeProcess()
        defer { serve.stop() }
        let index = ServeProcess.object(try await serve.request("GET", "/v1/services/web").body)["index"] as? Int ?? -1
        async let blocked = serve.request("GET", "/v1/services/web?index=\(index)&wait=20s")
        try await Task.sleep(for: .milliseconds(300))
        _ = try await serve.request("PUT", "/v1/services/web/instances/w1", body: #"{"address":"h","port":80}"#)
        let changed = ServeProcess.object(try await blocked.body)
        #expect((changed["index"] as? Int ?? 0) > index)
        let now = changed["index"] as? Int ?? 0
        let started = ContinuousClock.now
        let timedOut = ServeProcess.object(
            try await serve.request("GET", "/v1/services/web?index=\(now)&wait=500ms").body)
        #expect(timedOut["index"] as? Int == now)
        #expect(ContinuousClock.now - started >= .milliseconds(450))
    }

    @Test(
        "two shoal serve processes on one Redis see each other's registrations; a killed registrant goes within TTL + 1 s"
    )
    func sharedRedis() async throws {
        let redis = try RedisServer.start()
        let a = try await ServeProcess(["--redis", redis.url])
        defer { a.stop() }
        let b = try await ServeProcess(["--redis", redis.url])
        defer { b.stop() }
        let start = ServeProcess.object(try await b.request("GET", "/v1/services/jobs").body)["index"] as? Int ?? 0
        async let pushed = b.request("GET", "/v1/services/jobs?index=\(start)&wait=20s")
        try await Task.sleep(for: .milliseconds(300))
        // A registrant renewing through A every 300 ms with a 1 s TTL, then killed with -9.
        let registrant = try SpawnedProcess.spawn(
            "/usr/bin/python3",
            [
                "-c",
                """
                import time, urllib.request
                base = 'http://127.0.0.1:\(a.port)/v1/services/jobs/instances/j1'
                body = b'{"address":"10.0.0.9","port":9000,"ttl":"1s"}'
                urllib.request.urlopen(urllib.request.Request(base, data=body, method='PUT'))
                while True:
                    time.sleep(0.3)
                    urllib.request.urlopen(urllib.request.Request(base + '/renew', data=b'', method='PUT'))
                """,
            ])
        let seen = ServeProcess.object(try await pushed.body)
        #expect((seen["instances"] as? [[String: Any]])?.first?["id"] as? String == "j1")
        try await Task.sleep(for: .seconds(1.5))  // renewals keep it alive past its TTL
        let alive = ServeProcess.object(try await b.request("GET", "/v1/services/jobs").body)
        #expect((alive["instances"] as? [[String: Any]])?.count == 1)
        let index = alive["index"] as? Int ?? 0
        registrant.signal(SIGKILL)
        let killed = ContinuousClock.now
        let gone = ServeProcess.object(try await b.request("GET", "/v1/services/jobs?index=\(index)&wait=20s").body)
        #expect((gone["instances"] as? [[String: Any]])?.isEmpty == true)
        // The last renewal came at most 300 ms before the kill: gone by its TTL (1 s) and the
        // sweeper's next round (every 1 s), and told to the blocking query. The half second
        // over that is for a loaded machine, where the bound alone failed now and then.
        #expect(ContinuousClock.now - killed < .milliseconds(2500))
    }

    @Test("SIGTERM stops shoal serve cleanly with exit 0, even with an event stream open")
    func sigterm() async throws {
        let serve = try await ServeProcess()
        let events = Task {
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(serve.port)/v1/services/web/events")!)
            request.timeoutInterval = 30
            return try? await URLSession.shared.data(for: request)
        }
        try await Task.sleep(for: .milliseconds(500))
        serve.shoal.process.signal(SIGTERM)
        defer { events.cancel() }
        #expect(await eventually(within: 10) { !serve.shoal.process.isRunning })
        #expect(serve.shoal.process.exitCode == 0)
        serve.stop()
    }

    @Test("SIGTERM answers a blocking query at once with the snapshot as it is, and exits")
    func sigtermDuringBlockingQuery() async throws {
        let serve = try await ServeProcess()
        defer { serve.stop() }
        let index = ServeProcess.object(try await serve.request("GET", "/v1/services/web").body)["index"] as? Int ?? -1
        async let blocked = serve.request("GET", "/v1/services/web?index=\(index)&wait=60s")
        try await Task.sleep(for: .milliseconds(500))
        let stopping = ContinuousClock.now
        serve.shoal.process.signal(SIGTERM)
        let answer = try await blocked
        #expect(answer.status == 200)
        #expect(ServeProcess.object(answer.body)["index"] as? Int == index)
        #expect(ContinuousClock.now - stopping < .seconds(5), "the query held the shutdown")
        #expect(await eventually(within: 10) { !serve.shoal.process.isRunning })
        #expect(serve.shoal.process.exitCode == 0)
    }
}
