import Foundation
import ShoalTesting

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// `shoal sample-service` as a child process, on a free port.
final class SampleServiceProcess: Sendable {
    let name: String
    let shoal: BackgroundShoal
    let port: Int
    let directory: URL

    init(name: String, latency: String = "0ms", failRate: Double = 0, concurrency: Int? = nil) async throws {
        self.name = name
        directory = try scratchDirectory()
        shoal = try BackgroundShoal(
            [
                "sample-service", "--listen", "127.0.0.1:0", "--name", name, "--latency", latency, "--fail-rate",
                "\(failRate)",
            ] + (concurrency.map { ["--concurrency", "\($0)"] } ?? []),
            in: directory)
        let shoal = shoal
        _ = await eventually(within: 20) { shoal.stderr.contains(" on http://") || !shoal.process.isRunning }
        guard
            let port = shoal.stderr.split(separator: ":").last.flatMap({
                Int($0.trimmingCharacters(in: .whitespacesAndNewlines))
            })
        else {
            throw RedisServerError("sample-service \(name) did not start: \(shoal.stderr)")
        }
        self.port = port
    }

    /// The requests the instance has read so far (its `GET /control/requests`).
    func requestsServed() async throws -> Int {
        let (data, _) = try await URLSession.shared.data(
            from: URL(string: "http://127.0.0.1:\(port)/control/requests")!)
        return Int(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    /// `kill -9`.
    func kill() {
        shoal.process.kill()
    }

    func stop() {
        shoal.process.kill()
        try? FileManager.default.removeItem(at: directory)
    }
}

extension ServeProcess {
    /// Registers `service` on the admin API (no health check, a 5 minute TTL).
    func register(
        _ service: String, _ instance: SampleServiceProcess, id: String? = nil, token: String? = nil
    ) async throws {
        let put = try await request(
            "PUT", "/v1/services/\(service)/instances/\(id ?? instance.name)",
            body: #"{"address":"127.0.0.1","port":\#(instance.port),"ttl":"5m"}"#, token: token)
        guard put.status == 200 else {
            throw RedisServerError("registering \(instance.name): \(put.status) \(put.body)")
        }
    }

    /// A request through the gateway: status, headers (lower-case names) and body.
    func gateway(
        _ path: String, method: String = "GET", headers: [String: String] = [:], body: Data? = nil
    ) async throws -> (status: Int, headers: [String: String], body: String) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(gatewayPort)\(path)")!)
        request.httpMethod = method
        request.timeoutInterval = 30
        request.httpBody = body
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as? HTTPURLResponse
        var fields: [String: String] = [:]
        for (name, value) in http?.allHeaderFields ?? [:] {
            if let name = name as? String, let value = value as? String { fields[name.lowercased()] = value }
        }
        return (http?.statusCode ?? 0, fields, String(decoding: data, as: UTF8.self))
    }

    /// Waits until the gateway answers `path` from `backend` (the registry's change reached it).
    func waitUntilRouted(_ path: String, to backend: String, within seconds: Double = 10) async -> Bool {
        await eventually(within: seconds) {
            (try? await self.gateway(path))?.headers["x-backend"] == backend
        }
    }

    /// The gateway process's resident memory and its peak, from /proc, in bytes.
    var memory: (resident: Int, peak: Int) {
        let status = (try? String(contentsOfFile: "/proc/\(shoal.process.pid)/status", encoding: .utf8)) ?? ""
        func field(_ name: String) -> Int {
            let line = status.split(separator: "\n").first { $0.hasPrefix(name + ":") }
            return (line?.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0) * 1024
        }
        return (field("VmRSS"), field("VmHWM"))
    }
}

/// `shoal serve` with `GatewayTests.routes` and `arguments`, once it routes `/api` (prefix
/// stripped) to the sample service `web-1`.
struct RoutedGateway {
    let web: SampleServiceProcess
    let serve: ServeProcess

    /// - Parameter token: the `--token` among `arguments`, if any, for registering.
    init(_ arguments: [String], environment: [String: String] = [:], token: String? = nil) async throws {
        web = try await SampleServiceProcess(name: "web-1")
        do {
            serve = try await ServeProcess(arguments, environment: environment, config: GatewayTests.routes)
        } catch {
            web.stop()
            throw error
        }
        guard (try? await serve.register("web", web, token: token)) != nil,
            await serve.waitUntilRouted("/api/x", to: "web-1")
        else {
            stop()
            throw RedisServerError("the gateway never routed /api to web-1")
        }
    }

    func stop() {
        web.stop()
        serve.stop()
    }
}
