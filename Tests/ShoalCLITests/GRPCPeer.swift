import Foundation
import ShoalTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// grpcio, a gRPC implementation Shoal did not write (Debian's `python3-grpcio`), driven by
/// `Tests/Peers/grpc_peer.py`: servers of the `shoal.test.Peer` service, and a client that
/// runs named checks against a target and prints one JSON object each.
enum GRPCPeer {
    /// Debian's Python, which has `python3-grpcio` (`scripts/test` installs it).
    static let python = URL(fileURLWithPath: "/usr/bin/python3")
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Peers/grpc_peer.py").path

    /// Runs the client against `target` (`host:port`, h2c): each check's result, in order.
    static func client(_ target: String, _ checks: [String]) async throws -> [CheckResult] {
        let result = try await blocking {
            try ChildProcess.run(python, [script, "client", target] + checks)
        }
        guard result.status == 0 else {
            throw RedisServerError("grpc_peer.py client failed (\(result.status)): \(result.stderr)")
        }
        return result.output.split(separator: "\n").map { CheckResult(json: String($0)) }
    }

    /// One check's JSON object, kept as text so that it can cross tasks.
    struct CheckResult: Sendable, CustomStringConvertible {
        let json: String

        var object: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] ?? [:]
        }
        /// The gRPC status code the check ended with (0 when it has none).
        var code: Int { object["code"] as? Int ?? 0 }
        var message: String? { object["message"] as? String }
        /// `[key: count]` objects, such as the instances that answered.
        func counts(_ key: String) -> [String: Int] { object[key] as? [String: Int] ?? [:] }
        var description: String { json }
    }
}

/// A grpcio server of `shoal.test.Peer` on a free port, answering as `name`.
final class GRPCPeerServer: Sendable {
    let name: String
    let process: SpawnedProcess
    let port: Int
    private let output: String

    init(name: String, options: [String] = []) async throws {
        self.name = name
        output = try scratchDirectory().appendingPathComponent("grpc-peer-\(name).out").path
        process = try SpawnedProcess.spawn(
            GRPCPeer.python.path, [GRPCPeer.script, "serve", name] + options, standardOutput: output,
            standardError: output + ".err")
        let output = output
        var port = 0
        _ = await eventually(within: 20) {
            port = Int((try? String(contentsOfFile: output, encoding: .utf8))?.split(separator: "\n").first ?? "") ?? 0
            return port > 0
        }
        guard port > 0 else {
            process.kill()
            let error = (try? String(contentsOfFile: output + ".err", encoding: .utf8)) ?? ""
            throw RedisServerError("grpc_peer.py serve \(name) did not start: \(error)")
        }
        self.port = port
    }

    var target: String { "127.0.0.1:\(port)" }

    /// The calls it served and saw cancelled, and the most it served at once.
    func stats() async throws -> (calls: Int, cancelled: Int, mostInFlight: Int) {
        let object = try await GRPCPeer.client(target, ["stats"]).first?.object ?? [:]
        return (object["calls"] as? Int ?? -1, object["cancelled"] as? Int ?? -1, object["most_in_flight"] as? Int ?? -1)
    }

    /// Connections open to it now, as the kernel counts them.
    func establishedConnections() async throws -> Int {
        let port = port
        let result = try await blocking {
            try ChildProcess.run(
                URL(fileURLWithPath: "/usr/bin/env"), ["ss", "-Htn", "state", "established", "( sport = :\(port) )"])
        }
        return result.output.split(separator: "\n").count
    }

    func stop() {
        process.kill()
    }
}

extension ServeProcess {
    /// Registers an instance at `127.0.0.1:port` (no health check, a 5 minute TTL).
    func register(_ service: String, id: String, port: Int) async throws {
        let put = try await request(
            "PUT", "/v1/services/\(service)/instances/\(id)",
            body: #"{"address":"127.0.0.1","port":\#(port),"ttl":"5m"}"#)
        guard put.status == 200 else { throw RedisServerError("registering \(id): \(put.status) \(put.body)") }
    }
}
