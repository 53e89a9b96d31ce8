import Foundation
import ShoalTesting
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// `hello-services` (Examples/HelloServices) as a child process: a Hummingbird application
/// that registers itself with a `shoal serve` through ShoalHummingbird.
final class HelloServiceProcess: Sendable {
    let process: SpawnedProcess
    let stderrPath: String
    let port: Int

    convenience init(_ role: String, serve: ServeProcess, arguments: [String] = [], in directory: URL) async throws {
        try await self.init(role, registry: "http://127.0.0.1:\(serve.port)", arguments: arguments, in: directory)
    }

    init(_ role: String, registry: String, arguments: [String] = [], in directory: URL) async throws {
        stderrPath = directory.appendingPathComponent("\(role)-\(UUID().uuidString).err").path
        let binary = ShoalProcess.binary.deletingLastPathComponent().appendingPathComponent("hello-services").path
        process = try SpawnedProcess.spawn(
            binary, [role, "--registry", registry] + arguments, standardError: stderrPath)
        let path = stderrPath
        var port: Int?
        _ = await eventually(within: 20) {
            let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            port = text.split(separator: "\n").first { $0.contains("listening on 127.0.0.1:") }
                .flatMap { $0.split(separator: ":").last.flatMap { Int($0) } }
            return port != nil
        }
        guard let port else {
            let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            throw RedisServerError("hello-services \(role) did not start: \(text)")
        }
        self.port = port
    }

    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// A GET on the application itself: status and body.
    func get(_ path: String) async -> (status: Int, body: String)? {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.timeoutInterval = 10
        guard let (data, response) = try? await URLSession.shared.data(for: request) else { return nil }
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }
}

extension ServeProcess {
    /// The ports of `service`'s instances in the registry.
    /// Throws when `shoal serve` cannot answer, so that "no instance" is never a server that
    /// is down.
    func ports(of service: String) async throws -> [Int] {
        let reply = try await request("GET", "/v1/services/\(service)")
        if reply.status == 404 { return [] }
        guard reply.status == 200, let instances = ServeProcess.object(reply.body)["instances"] as? [[String: Any]]
        else {
            throw UnexpectedReply(description: "GET /v1/services/\(service) answered \(reply.status): \(reply.body)")
        }
        return instances.compactMap { $0["port"] as? Int }.sorted()
    }
}

/// An answer from `shoal serve` that a test did not expect.
struct UnexpectedReply: Error, CustomStringConvertible {
    let description: String
}

@Suite("Hummingbird services that register with shoal serve and call each other by name", .serialized)
struct HelloServicesTests {
    @Test("a Hummingbird app registers with the port it really got, and answers its health route")
    func registersWithRealPort() async throws {
        let serve = try await ServeProcess()
        defer { serve.stop() }
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let backend = try await HelloServiceProcess("backend", serve: serve, in: directory)
        defer { backend.process.kill() }
        #expect(backend.port > 0)
        #expect(try await eventually(within: 10) { try await serve.ports(of: "backend") == [backend.port] })
        let health = await backend.get("/health")
        #expect(health?.status == 200)
        #expect(health?.body == #"{"status":"passing"}"#)
    }

    @Test("SIGTERM: deregistered first, while the listener still answers; then it stops and exits 0")
    func deregistersBeforeListenerCloses() async throws {
        let serve = try await ServeProcess()
        defer { serve.stop() }
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let backend = try await HelloServiceProcess(
            "backend", serve: serve, arguments: ["--drain-delay", "1500"], in: directory)
        defer { backend.process.kill() }
        #expect(try await eventually(within: 10) { try await serve.ports(of: "backend") == [backend.port] })
        backend.process.signal(SIGTERM)
        #expect(try await eventually(within: 1) { try await serve.ports(of: "backend").isEmpty })
        // Gone from the registry, yet still answering: callers that had picked it are served.
        #expect(await backend.get("/hello")?.status == 200)
        #expect(await backend.process.exited(within: 10))
        #expect(backend.process.exitCode == 0, "\(backend.stderr)")
        #expect(backend.stderr.contains("backend stopped"))
        #expect(await backend.get("/hello") == nil)
    }

    @Test("an app started before its registry keeps trying, and registers once the registry is up")
    func registersWhenRegistryComesUp() async throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let admin = try RedisServer.freePort()
        let backend = try await HelloServiceProcess(
            "backend", registry: "http://127.0.0.1:\(admin)", arguments: ["--ttl", "3"], in: directory)
        defer { backend.process.kill() }
        try await Task.sleep(for: .milliseconds(500))  // a few refused tries
        #expect(backend.process.isRunning)
        let serve = try await ServeProcess(["--admin", "127.0.0.1:\(admin)"])
        defer { serve.stop() }
        #expect(try await eventually(within: 5) { try await serve.ports(of: "backend") == [backend.port] })
        #expect(await backend.get("/hello")?.status == 200)
    }

    @Test("kill -9: the instance leaves the registry within its TTL + 1 s")
    func killedExpires() async throws {
        let serve = try await ServeProcess()
        defer { serve.stop() }
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let backend = try await HelloServiceProcess("backend", serve: serve, arguments: ["--ttl", "2"], in: directory)
        #expect(try await eventually(within: 10) { try await serve.ports(of: "backend") == [backend.port] })
        backend.process.kill()
        let killed = ContinuousClock.now
        #expect(try await eventually(within: 3) { try await serve.ports(of: "backend").isEmpty })
        #expect(ContinuousClock.now - killed <= .seconds(3))
    }

    @Test("the frontend calls the backend by name: one of three backends killed under load, zero failed calls")
    func frontendSurvivesBackendKill() async throws {
        let serve = try await ServeProcess()
        defer { serve.stop() }
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var backends: [HelloServiceProcess] = []
        for _ in 0..<3 { backends.append(try await HelloServiceProcess("backend", serve: serve, in: directory)) }
        defer { for backend in backends { backend.process.kill() } }
        let frontend = try await HelloServiceProcess("frontend", serve: serve, in: directory)
        let victim = backends[1]
        defer { frontend.process.kill() }
        let ports = backends.map(\.port).sorted()
        #expect(try await eventually(within: 10) { try await serve.ports(of: "backend") == ports })
        let answers = Tally()
        let end = ContinuousClock.now + .seconds(3)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    while ContinuousClock.now < end {
                        let reply = await frontend.get("/greet")
                        guard let reply, reply.status == 200, let port = reply.body.split(separator: " ").last else {
                            answers.add("failed: \(reply.map { "\($0.status) \($0.body)" } ?? "no answer")")
                            continue
                        }
                        answers.add(port.trimmingCharacters(in: .whitespacesAndNewlines))
                    }
                }
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(1))
                victim.process.kill()
            }
        }
        let counts = answers.counts
        #expect(counts.keys.allSatisfy { !$0.hasPrefix("failed") }, "\(counts)")
        #expect(answers.total > 50, "\(counts)")
        #expect(Set(counts.keys) == Set(ports.map(String.init)), "every backend answered some: \(counts)")
    }
}
