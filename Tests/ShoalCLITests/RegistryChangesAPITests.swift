import Foundation
import ShoalTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The registry API's changes: server-sent `change` events and blocking queries with
/// `changes=true`, against a real `shoal serve`, read by curl.
@Suite("shoal serve: registry changes over real HTTP", .serialized)
struct RegistryChangesAPITests {
    /// One server-sent event: its name, id and data.
    struct Event {
        let name: String
        let id: String
        let data: String
        var object: [String: Any] { ServeProcess.object(data) }
    }

    /// curl reading an event stream into a file until stopped.
    final class EventStream: Sendable {
        let process: SpawnedProcess
        let file: String

        init(_ url: String, in directory: URL) throws {
            file = directory.appendingPathComponent("events-\(UUID().uuidString)").path
            process = try SpawnedProcess.spawn("/usr/bin/curl", ["-sN", url], standardOutput: file)
        }

        var events: [Event] {
            let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
            return text.components(separatedBy: "\n\n").compactMap { block in
                var fields: [String: String] = [:]
                for line in block.split(separator: "\n") {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    fields[String(line[..<colon])] = String(line[line.index(after: colon)...].dropFirst())
                }
                guard let name = fields["event"], let id = fields["id"], let data = fields["data"] else { return nil }
                return Event(name: name, id: id, data: data)
            }
        }

        func stop() {
            process.kill()
            _ = process.waitForExit(seconds: 5)
        }
    }

    static func register(_ serve: ServeProcess, _ id: String, port: Int = 8080) async throws {
        let put = try await serve.request(
            "PUT", "/v1/services/web/instances/\(id)",
            body: #"{"address":"10.0.0.7","port":\#(port),"metadata":{"version":"2.4.1"},"ttl":"60s"}"#)
        #expect(put.status == 200)
    }

    @Test("an event stream sends the service once, then each change alone")
    func changeEvents() async throws {
        let serve = try await ServeProcess()
        defer { serve.stop() }
        for n in 0..<50 { try await Self.register(serve, "w\(n)") }
        let stream = try EventStream("http://127.0.0.1:\(serve.port)/v1/services/web/events", in: serve.directory)
        defer { stream.stop() }
        #expect(await eventually(within: 10) { stream.events.count == 1 })
        try await Self.register(serve, "new")
        #expect(try await serve.request("DELETE", "/v1/services/web/instances/w0").status == 204)
        try await Self.register(serve, "w1", port: 9090)
        #expect(await eventually(within: 10) { stream.events.count == 4 })

        let events = stream.events
        #expect(events.map(\.name) == ["snapshot", "change", "change", "change"])
        #expect((events[0].object["instances"] as? [Any])?.count == 50)
        #expect(events.map(\.id) == ["50", "51", "52", "53"])
        let added = events[1].object
        #expect((added["upserted"] as? [[String: Any]])?.map { $0["id"] as? String } == ["new"])
        #expect(
            added["removed"] as? [String] == [] && added["index"] as? Int == 51 && added["service"] as? String == "web")
        #expect(events[2].object["removed"] as? [String] == ["w0"])
        #expect((events[3].object["upserted"] as? [[String: Any]])?.first?["port"] as? Int == 9090)
        #expect(events[1].data.utf8.count < 400, "a change of one instance: \(events[1].data.utf8.count) bytes")
        #expect(events[0].data.utf8.count > 50 * 150, "the snapshot: \(events[0].data.utf8.count) bytes")
    }

    @Test("?snapshots=true sends the whole service on every change")
    func snapshotEvents() async throws {
        let serve = try await ServeProcess()
        defer { serve.stop() }
        try await Self.register(serve, "w0")
        let stream = try EventStream(
            "http://127.0.0.1:\(serve.port)/v1/services/web/events?snapshots=true", in: serve.directory)
        defer { stream.stop() }
        #expect(await eventually(within: 10) { stream.events.count == 1 })
        try await Self.register(serve, "w1")
        #expect(await eventually(within: 10) { stream.events.count == 2 })
        #expect(stream.events.map(\.name) == ["snapshot", "snapshot"])
        #expect((stream.events.last?.object["instances"] as? [Any])?.count == 2)
    }

    @Test("a blocking query with changes=true answers what changed since the index, or the service marked as such")
    func blockingChanges() async throws {
        let serve = try await ServeProcess()
        defer { serve.stop() }
        try await Self.register(serve, "w0")
        try await Self.register(serve, "w1")
        let since = ServeProcess.object(try await serve.request("GET", "/v1/services/web?index=1&changes=true").body)
        #expect(since["kind"] as? String == "changes" && since["index"] as? Int == 2)
        #expect((since["upserted"] as? [[String: Any]])?.map { $0["id"] as? String } == ["w1"])

        async let waited = serve.request("GET", "/v1/services/web?index=2&changes=true&wait=20s")
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await serve.request("DELETE", "/v1/services/web/instances/w0").status == 204)
        let removed = ServeProcess.object(try await waited.body)
        #expect(removed["kind"] as? String == "changes" && removed["removed"] as? [String] == ["w0"])

        let quiet = ServeProcess.object(
            try await serve.request("GET", "/v1/services/web?index=3&changes=true&wait=1s").body)
        #expect(quiet["kind"] as? String == "changes" && quiet["index"] as? Int == 3)
        #expect((quiet["upserted"] as? [Any])?.isEmpty == true && (quiet["removed"] as? [Any])?.isEmpty == true)

        let elsewhere = ServeProcess.object(
            try await serve.request("GET", "/v1/services/web?index=99&changes=true").body)
        #expect(elsewhere["kind"] as? String == "snapshot" && elsewhere["index"] as? Int == 3)
        #expect((elsewhere["instances"] as? [[String: Any]])?.map { $0["id"] as? String } == ["w1"])
    }

    @Test(
        "bad flags get 400 naming the parameter",
        arguments: [
            ("/v1/services/web?index=1&changes=maybe", "changes"),
            ("/v1/services/web?changes=true", "changes"),
            ("/v1/services/web/events?snapshots=1", "snapshots"),
        ])
    func badFlags(path: String, field: String) async throws {
        let serve = try await ServeProcess()
        defer { serve.stop() }
        let reply = try await serve.request("GET", path)
        #expect(reply.status == 400)
        #expect(ServeProcess.object(reply.body)["field"] as? String == field)
    }
}
