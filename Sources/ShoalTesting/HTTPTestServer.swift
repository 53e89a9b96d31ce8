import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A real HTTP server in a child process (Python's `http.server`) serving an empty
/// directory on a loopback port: `GET /` answers 200, anything else 404. For health-check
/// tests that kill and restart what they probe.
public final class HTTPTestServer: Sendable {
    public let port: Int
    private let directory: URL
    private let process: Mutex<SpawnedProcess>

    private init(port: Int, directory: URL, process: SpawnedProcess) {
        self.port = port
        self.directory = directory
        self.process = Mutex(process)
    }

    /// Starts the server on a free port (or `port`) and waits until it accepts connections.
    public static func start(port: Int? = nil) throws -> HTTPTestServer {
        let port = try port ?? RedisServer.freePort()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-http-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let process = try launch(port: port, directory: directory)
        return HTTPTestServer(port: port, directory: directory, process: process)
    }

    private static func launch(port: Int, directory: URL) throws -> SpawnedProcess {
        guard
            let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first(
                where: FileManager.default.isExecutableFile)
        else {
            throw RedisServerError("python3 is not installed: run scripts/test, or apt-get install python3")
        }
        let process = try SpawnedProcess.spawn(
            python, ["-m", "http.server", String(port), "--bind", "127.0.0.1", "--directory", directory.path])
        for _ in 0..<1000 {
            if !process.isRunning { throw RedisServerError("python3 -m http.server exited at once on port \(port)") }
            if canConnect(port) { return process }
            usleep(10_000)
        }
        process.kill()
        throw RedisServerError("the HTTP test server on port \(port) did not start within 10 s")
    }

    /// Kills the server (SIGKILL), as a crash would.
    public func kill() {
        process.withLock { $0.kill() }
    }

    /// Starts a new server on the same port.
    public func restart() throws {
        kill()
        let fresh = try Self.launch(port: port, directory: directory)
        process.withLock { $0 = fresh }
    }

    deinit {
        kill()
        try? FileManager.default.removeItem(at: directory)
    }

    private static func canConnect(_ port: Int) -> Bool {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { return false }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}
