import Foundation
import ShoalGateway
import ShoalTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("the gateway's access log in shoal serve", .serialized)
struct AccessLogTests {
    /// The JSON objects of the lines in `path` so far.
    static func lines(_ path: String) -> [[String: Any]] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
    }

    /// The line of the request whose id is `id`.
    static func line(_ id: String?, in lines: [[String: Any]]) -> [String: Any]? {
        lines.first { ($0["request_id"] as? String) == id && id != nil }
    }

    @Test("--access-log FILE: a JSON line for each request, proxied, refused or failed, with the id its client got")
    func file() async throws {
        let logged = try await LoggedGateway()
        defer { logged.stop() }
        let (web, serve, path) = (logged.web, logged.serve, logged.path)
        let gone = try await SampleServiceProcess(name: "gone")
        gone.kill()
        try await serve.register("orders", gone)
        #expect(
            await eventually(within: 10) {
                (try? await serve.gateway("/api/orders/1"))?.status == 502
            })
        let started = Date()

        let ok = try await serve.gateway("/api/hello?q=1", headers: ["User-Agent": "access-log-test"])
        let posted = try await serve.gateway("/small/up", method: "POST", body: Data(repeating: 120, count: 300))
        let missing = try await serve.gateway("/nothing")
        let failed = try await serve.gateway("/api/orders/1", method: "POST", body: Data("x".utf8))
        let port = serve.gatewayPort
        let refused = try await blocking {
            let connection = try RawConnection(port: port)
            connection.send("HELLO THERE\r\n\r\n")
            return connection.readResponse()?.status
        }
        #expect([ok.status, posted.status, missing.status, failed.status, refused] == [200, 200, 404, 502, 400])

        // Written within the flush interval (1 s), while the gateway runs.
        let ids = [ok, posted, missing, failed].map { $0.headers["x-request-id"] }
        var lines: [[String: Any]] = []
        let written = await eventually(within: 10) {
            lines = Self.lines(path)
            return ids.allSatisfy { Self.line($0, in: lines) != nil }
                && lines.contains { $0["status"] as? Int == 400 && $0["method"] is NSNull }
        }
        #expect(written, "\(lines)")

        let proxied = try #require(Self.line(ids[0], in: lines))
        #expect(proxied["method"] as? String == "GET")
        #expect(proxied["target"] as? String == "/api/hello?q=1")
        #expect(proxied["host"] as? String == "127.0.0.1:\(port)")
        #expect(proxied["protocol"] as? String == "HTTP/1.1")
        #expect(proxied["status"] as? Int == 200)
        #expect(proxied["route"] as? String == "/api")
        #expect(proxied["upstream"] as? String == "127.0.0.1:\(web.port)")
        #expect(proxied["tries"] as? Int == 1)
        #expect(proxied["response_bytes"] as? Int == ok.body.utf8.count)
        #expect(proxied["user_agent"] as? String == "access-log-test")
        #expect(proxied["client"] as? String == "127.0.0.1")
        #expect(proxied["error"] is NSNull)
        let upstreamTime = proxied["upstream_ms"] as? Double
        #expect(upstreamTime.map { $0 >= 0 && $0 <= (proxied["duration_ms"] as? Double ?? 0) } == true)

        let upload = try #require(Self.line(ids[1], in: lines))
        #expect(upload["method"] as? String == "POST" && upload["route"] as? String == "/small")
        #expect(upload["request_bytes"] as? Int == 300)
        #expect(upload["response_bytes"] as? Int == posted.body.utf8.count)

        let noRoute = try #require(Self.line(ids[2], in: lines))
        #expect(noRoute["status"] as? Int == 404 && noRoute["route"] is NSNull && noRoute["upstream"] is NSNull)
        #expect(noRoute["error"] as? String == "no route for /nothing")
        #expect(noRoute["upstream_ms"] is NSNull)
        #expect(noRoute["response_bytes"] as? Int == missing.body.utf8.count)

        let badGateway = try #require(Self.line(ids[3], in: lines))
        #expect(badGateway["status"] as? Int == 502 && badGateway["route"] as? String == "/api/orders")
        #expect(badGateway["upstream"] as? String == "127.0.0.1:\(gone.port)")
        #expect((badGateway["error"] as? String)?.contains("orders failed") == true)

        let malformed = try #require(lines.first { $0["status"] as? Int == 400 })
        for key in ["request_id", "method", "target", "route"] { #expect(malformed[key] is NSNull, "\(key)") }
        #expect((malformed["error"] as? String)?.contains("malformed") == true)

        // Every line: a time around now, in UTC, and a duration.
        let times = ISO8601DateFormatter()
        times.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for line in lines {
            let time = (line["time"] as? String).flatMap { times.date(from: $0) }
            #expect(time.map { abs($0.timeIntervalSince(started)) < 120 } == true, "\(line)")
            #expect((line["duration_ms"] as? Double).map { $0 >= 0 } == true)
        }
    }

    @Test(
        "a destination that takes nothing (a pipe nobody reads) holds up no request; lines past the limit are dropped")
    func blockedDestination() async throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let fifo = directory.appendingPathComponent("access.fifo").path
        try #require(mkfifo(fifo, 0o600) == 0)
        // A reader that never reads: the gateway's open succeeds, and the pipe fills at 64 KiB.
        let reader = open(fifo, O_RDONLY | O_NONBLOCK)
        try #require(reader >= 0)
        defer { close(reader) }
        let requests = 3000
        let answered = try await GatewayFramingTests.withGateway(
            accessLog: .init(.file(fifo), flushInterval: .milliseconds(50), maxPendingBytes: 64 << 10)
        ) { port, _ in
            try await blocking {
                let connection = try RawConnection(port: port, timeout: 5)
                var answered = 0
                for _ in 0..<requests {
                    connection.send("GET /f/record HTTP/1.1\r\nHost: a\r\n\r\n")
                    guard connection.readResponse()?.status == 200 else { break }
                    answered += 1
                }
                return answered
            }
        }
        #expect(answered == requests)
        // What the pipe holds: lines, far fewer than the requests (about 330 bytes each). The
        // writer goes on as this reads, so the last line may be cut where the reading stops.
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = read(reader, &chunk, chunk.count)
            guard count > 0 else { break }
            bytes += chunk[..<count]
        }
        let lines = bytes[..<(bytes.lastIndex(of: UInt8(ascii: "\n")) ?? 0)].split(separator: UInt8(ascii: "\n"))
        #expect(lines.count > 0 && lines.count < requests / 2, "\(lines.count) lines")
        #expect(lines.allSatisfy { (try? JSONSerialization.jsonObject(with: Data($0))) is [String: Any] })
    }

    @Test("lines still in the buffer are written when SIGTERM stops the gateway")
    func flushedAtExit() async throws {
        let logged = try await LoggedGateway()
        defer { logged.stop() }
        let (serve, path) = (logged.serve, logged.path)
        // Twenty requests and the stop at once: the 1 s flush has not come for most of them.
        var ids: [String?] = []
        for _ in 0..<20 { ids.append(try await serve.gateway("/api/last").headers["x-request-id"]) }
        serve.shoal.process.signal(SIGTERM)
        #expect(await eventually(within: 10) { !serve.shoal.process.isRunning })
        #expect(serve.shoal.process.exitCode == 0)
        let lines = Self.lines(path)
        #expect(ids.allSatisfy { Self.line($0, in: lines)?["status"] as? Int == 200 }, "\(lines.count) lines")
    }

    @Test("SIGUSR1 reopens the log at its path, after a rotation moved the file away")
    func reopen() async throws {
        let logged = try await LoggedGateway()
        defer { logged.stop() }
        let (serve, path) = (logged.serve, logged.path)
        let before = try await serve.gateway("/api/before").headers["x-request-id"]
        #expect(await eventually(within: 10) { Self.line(before, in: Self.lines(path)) != nil })
        let rotated = path + ".1"
        try FileManager.default.moveItem(atPath: path, toPath: rotated)
        serve.shoal.process.signal(SIGUSR1)
        #expect(await eventually(within: 10) { FileManager.default.fileExists(atPath: path) })
        let after = try await serve.gateway("/api/after").headers["x-request-id"]
        #expect(await eventually(within: 10) { Self.line(after, in: Self.lines(path)) != nil })
        #expect(Self.line(after, in: Self.lines(rotated)) == nil)
        #expect(Self.line(before, in: Self.lines(rotated)) != nil)
        #expect(serve.shoal.process.isRunning)
    }

    @Test("--access-log - writes to standard output; a file that cannot be opened exits 2 naming the flag")
    func standardOutputAndBadPath() async throws {
        let output = try scratchDirectory()
        let stdout = output.appendingPathComponent("stdout").path
        let serve = try await ServeProcess(["--access-log", "-", "--route", "/x=nothing"], standardOutput: stdout)
        defer {
            serve.stop()
            try? FileManager.default.removeItem(at: output)
        }
        let answer = try await serve.gateway("/x/1")
        #expect(answer.status == 503)
        let id = answer.headers["x-request-id"]
        #expect(await eventually(within: 10) { Self.line(id, in: Self.lines(stdout))?["status"] as? Int == 503 })

        let bad = try await ShoalProcess.run([
            "serve", "--admin", "127.0.0.1:0", "--listen", "127.0.0.1:0", "--access-log",
            "/nonexistent-shoal-directory/access.log",
        ])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("--access-log") && bad.stderr.contains("No such file"), "\(bad.stderr)")
    }
}

/// `shoal serve` with `--access-log` to a file of its own, routing `/api` to a sample service.
struct LoggedGateway {
    let routed: RoutedGateway
    let logs: URL
    /// The access log.
    let path: String
    var web: SampleServiceProcess { routed.web }
    var serve: ServeProcess { routed.serve }

    init() async throws {
        logs = try scratchDirectory()
        path = logs.appendingPathComponent("access.log").path
        routed = try await RoutedGateway(["--access-log", path])
    }

    func stop() {
        routed.stop()
        try? FileManager.default.removeItem(at: logs)
    }
}
