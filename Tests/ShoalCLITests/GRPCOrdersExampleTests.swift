import Foundation
import ShoalTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `grpc-orders` (Examples/GRPCOrders) as child processes: gRPC servers that register
/// themselves with a `shoal serve`, and a client that calls them by the service's name.
@Suite("grpc-orders: a gRPC service registered with shoal serve, called by name", .serialized)
struct GRPCOrdersExampleTests {
    static let binary = ShoalProcess.binary.deletingLastPathComponent().appendingPathComponent("grpc-orders")

    /// Starts a server named `name`; returns it once it listens.
    static func server(_ name: String, serve: ServeProcess, in directory: URL) async throws -> (SpawnedProcess, String) {
        let stderr = directory.appendingPathComponent("\(name).err").path
        let process = try SpawnedProcess.spawn(
            binary.path, ["server", "--name", name, "--registry", "http://127.0.0.1:\(serve.port)"],
            standardError: stderr)
        let up = await eventually(within: 20) {
            ((try? String(contentsOfFile: stderr, encoding: .utf8)) ?? "").contains("listening on")
        }
        guard up else {
            process.kill()
            throw RedisServerError("grpc-orders server \(name) did not start")
        }
        return (process, stderr)
    }

    /// The ids of the registered instances of `orders`.
    static func registered(_ serve: ServeProcess) async throws -> Set<String> {
        let body = ServeProcess.object(try await serve.request("GET", "/v1/services/orders").body)
        return Set((body["instances"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String })
    }

    /// Runs the client: its lines.
    static func client(_ serve: ServeProcess, calls: Int) async throws -> [Substring] {
        let result = try await blocking {
            try ChildProcess.run(binary, ["client", "--registry", "http://127.0.0.1:\(serve.port)", "--calls", "\(calls)"])
        }
        #expect(result.status == 0, "\(result.stderr)")
        return result.output.split(separator: "\n")
    }

    @Test("the client's calls reach the servers by name; a server stopped with SIGTERM leaves the registry first")
    func byName() async throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let serve = try await ServeProcess()
        defer { serve.stop() }
        let (first, firstErr) = try await Self.server("orders-1", serve: serve, in: directory)
        defer { first.kill() }
        let (second, _) = try await Self.server("orders-2", serve: serve, in: directory)
        defer { second.kill() }
        #expect(await eventually(within: 10) { (try? await Self.registered(serve)) == ["orders-1", "orders-2"] })

        let lines = try await Self.client(serve, calls: 20)
        let served = lines.filter { $0.contains("shipped, served by orders-") }
        #expect(served.count == 20, "\(lines)")
        #expect(lines.filter { $0.hasPrefix("watch order-1:") }.count == 3, "\(lines)")

        first.signal(SIGTERM)
        #expect(await first.exited(within: 10))
        #expect(first.exitCode == 0)
        let stderr = (try? String(contentsOfFile: firstErr, encoding: .utf8)) ?? ""
        #expect(stderr.contains("orders-1 stopped"), "\(stderr)")
        #expect(try await Self.registered(serve) == ["orders-2"])
        let after = try await Self.client(serve, calls: 5)
        #expect(after.filter { $0.hasSuffix("served by orders-2") }.count == 5, "\(after)")
    }
}
