import Foundation
import ShoalTesting

/// Plain HTTP/1.1 to lab hosts, over ``RawConnection``: the registry API and the gateway.
enum LabHTTP {
    /// One request on a connection of its own; `nil` if no answer came.
    static func request(
        _ method: String, _ host: TestHost, port: Int, _ path: String, body: String? = nil, timeout: Double = 5
    ) -> (status: Int, body: String)? {
        guard let connection = try? RawConnection(host: host.address, port: port, timeout: timeout) else { return nil }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host.address)\r\nConnection: close\r\n"
        if let body { head += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n" }
        guard connection.send(head + "\r\n" + (body ?? "")), let response = connection.readResponse() else {
            return nil
        }
        return (response.status, String(decoding: response.body, as: UTF8.self))
    }

    /// Whether, in 20 GETs of `/` through the gateway on `host` (port 8080), each instance
    /// in `names` answered at least once.
    static func gatewayReaches(_ names: Set<String>, through host: TestHost) -> Bool {
        var seen = Set<String>()
        for _ in 0..<20 {
            if let answer = request("GET", host, port: 8080, "/", timeout: 2), answer.status == 200 {
                seen.formUnion(names.filter { answer.body.contains($0) })
            }
        }
        return seen == names
    }

    /// Waits until `GET path` answers 200.
    static func waitUntilUp(_ host: TestHost, port: Int, path: String = "/", within seconds: Double = 30) async -> Bool
    {
        await eventually(within: seconds) { request("GET", host, port: port, path, timeout: 1)?.status == 200 }
    }
}

/// A `shoal` child process on a lab host, stopped when released.
final class LabProcess {
    let process: SpawnedProcess
    let log: String

    init(on host: TestHost, _ arguments: [String]) throws {
        log = ShoalBinary.scratchFile("process")
        process = try host.spawn(ShoalBinary.path, arguments, standardOutput: log, standardError: log)
    }

    var output: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

    deinit {
        process.signal(SIGTERM)
        if !process.waitForExit(seconds: 5) { process.kill() }
        try? FileManager.default.removeItem(atPath: log)
    }
}
